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

extension SIPHeaderName {
    public static let via = SIPHeaderName(known: .via)
    public static let from = SIPHeaderName(known: .from)
    public static let to = SIPHeaderName(known: .to)
    public static let callID = SIPHeaderName(known: .callID)
    public static let cseq = SIPHeaderName(known: .cseq)
    public static let contact = SIPHeaderName(known: .contact)
    public static let contentLength = SIPHeaderName(known: .contentLength)
    public static let contentType = SIPHeaderName(known: .contentType)
    public static let maxForwards = SIPHeaderName(known: .maxForwards)
    public static let expires = SIPHeaderName(known: .expires)
    public static let minExpires = SIPHeaderName(known: .minExpires)
    public static let route = SIPHeaderName(known: .route)
    public static let recordRoute = SIPHeaderName(known: .recordRoute)
    public static let path = SIPHeaderName(known: .path)
    public static let supported = SIPHeaderName(known: .supported)
    public static let require = SIPHeaderName(known: .require)
    public static let date = SIPHeaderName(known: .date)
    public static let authorization = SIPHeaderName(known: .authorization)
    public static let wwwAuthenticate = SIPHeaderName(known: .wwwAuthenticate)
    public static let userAgent = SIPHeaderName(known: .userAgent)
    public static let flowTimer = SIPHeaderName(known: .flowTimer)

    init(known: KnownSIPHeader) {
        self.init(spelling: Substring(known.canonicalName), known: known)
    }
}

extension UInt8 {
    @inline(__always)
    var asciiLowercased: UInt8 { (self &- 0x41) < 26 ? self | 0x20 : self }
}
