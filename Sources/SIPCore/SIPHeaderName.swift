/// A header field name as received, compared case-insensitively and by compact form
/// (RFC 3261 §7.3.3: `v` is `Via`, `m` is `Contact`, …).
public struct SIPHeaderName: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The name exactly as it was received or given.
    public let spelling: Substring
    let known: KnownSIPHeader?

    /// Creates a name from its spelling.
    public init(_ spelling: some StringProtocol) {
        self.spelling = spelling.substring
        self.known = KnownSIPHeader(matching: self.spelling)
    }

    init(spelling: Substring, known: KnownSIPHeader?) {
        self.spelling = spelling
        self.known = known
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    /// The long form for a known header (`Via` for `v`), else the spelling.
    public var canonical: String {
        known?.canonicalName ?? String(spelling)
    }

    public var description: String { String(spelling) }

    public static func == (lhs: SIPHeaderName, rhs: SIPHeaderName) -> Bool {
        switch (lhs.known, rhs.known) {
        case let (l?, r?): return l == r
        case (nil, nil): return lhs.spelling.utf8.elementsEqual(rhs.spelling.utf8, by: { $0.asciiLowercased == $1.asciiLowercased })
        case (_?, nil), (nil, _?): return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        if let known {
            hasher.combine(known.rawValue)
        } else {
            for byte in spelling.utf8 { hasher.combine(byte.asciiLowercased) }
        }
    }
}

/// The names the stack uses, made on each use: a known name is a literal spelling and a kind,
/// cheaper to make than a stored constant is to reach through its one-time initializer.
extension SIPHeaderName {
    public static var via: SIPHeaderName { SIPHeaderName(known: .via) }
    public static var from: SIPHeaderName { SIPHeaderName(known: .from) }
    public static var to: SIPHeaderName { SIPHeaderName(known: .to) }
    public static var callID: SIPHeaderName { SIPHeaderName(known: .callID) }
    public static var cseq: SIPHeaderName { SIPHeaderName(known: .cseq) }
    public static var contact: SIPHeaderName { SIPHeaderName(known: .contact) }
    public static var contentLength: SIPHeaderName { SIPHeaderName(known: .contentLength) }
    public static var contentType: SIPHeaderName { SIPHeaderName(known: .contentType) }
    public static var maxForwards: SIPHeaderName { SIPHeaderName(known: .maxForwards) }
    public static var expires: SIPHeaderName { SIPHeaderName(known: .expires) }
    public static var minExpires: SIPHeaderName { SIPHeaderName(known: .minExpires) }
    public static var route: SIPHeaderName { SIPHeaderName(known: .route) }
    public static var recordRoute: SIPHeaderName { SIPHeaderName(known: .recordRoute) }
    public static var path: SIPHeaderName { SIPHeaderName(known: .path) }
    public static var supported: SIPHeaderName { SIPHeaderName(known: .supported) }
    public static var require: SIPHeaderName { SIPHeaderName(known: .require) }
    public static var date: SIPHeaderName { SIPHeaderName(known: .date) }
    public static var authorization: SIPHeaderName { SIPHeaderName(known: .authorization) }
    public static var wwwAuthenticate: SIPHeaderName { SIPHeaderName(known: .wwwAuthenticate) }
    public static var proxyAuthorization: SIPHeaderName { SIPHeaderName(known: .proxyAuthorization) }
    public static var proxyAuthenticate: SIPHeaderName { SIPHeaderName(known: .proxyAuthenticate) }
    public static var retryAfter: SIPHeaderName { SIPHeaderName(known: .retryAfter) }
    public static var userAgent: SIPHeaderName { SIPHeaderName(known: .userAgent) }
    public static var flowTimer: SIPHeaderName { SIPHeaderName(known: .flowTimer) }

    init(known: KnownSIPHeader) {
        self.init(spelling: Substring(known.canonicalName), known: known)
    }
}

extension UInt8 {
    @inline(__always)
    var asciiLowercased: UInt8 { (self &- 0x41) < 26 ? self | 0x20 : self }
}
