/// Header fields the stack understands, with their long names and compact forms (RFC 3261 §7.3.3,
/// IANA "Header Fields" registry).
enum KnownSIPHeader: UInt8, Sendable, CaseIterable {
    case accept, acceptContact, allow, allowEvents, authorization, callID, contact, contentEncoding
    case contentLength, contentType, cseq, date, event, expires, flowTimer, from, identity, maxForwards
    case minExpires, path, proxyAuthenticate, proxyAuthorization, proxyRequire, recordRoute, referTo
    case referredBy, rejectContact, requestDisposition, require, retryAfter, route, server, sessionExpires
    case subject, supported, timestamp, to, unsupported, userAgent, via, warning, wwwAuthenticate

    var canonicalName: String {
        switch self {
        case .accept: "Accept"
        case .acceptContact: "Accept-Contact"
        case .allow: "Allow"
        case .allowEvents: "Allow-Events"
        case .authorization: "Authorization"
        case .callID: "Call-ID"
        case .contact: "Contact"
        case .contentEncoding: "Content-Encoding"
        case .contentLength: "Content-Length"
        case .contentType: "Content-Type"
        case .cseq: "CSeq"
        case .date: "Date"
        case .event: "Event"
        case .expires: "Expires"
        case .flowTimer: "Flow-Timer"
        case .from: "From"
        case .identity: "Identity"
        case .maxForwards: "Max-Forwards"
        case .minExpires: "Min-Expires"
        case .path: "Path"
        case .proxyAuthenticate: "Proxy-Authenticate"
        case .proxyAuthorization: "Proxy-Authorization"
        case .proxyRequire: "Proxy-Require"
        case .recordRoute: "Record-Route"
        case .referTo: "Refer-To"
        case .referredBy: "Referred-By"
        case .rejectContact: "Reject-Contact"
        case .requestDisposition: "Request-Disposition"
        case .require: "Require"
        case .retryAfter: "Retry-After"
        case .route: "Route"
        case .server: "Server"
        case .sessionExpires: "Session-Expires"
        case .subject: "Subject"
        case .supported: "Supported"
        case .timestamp: "Timestamp"
        case .to: "To"
        case .unsupported: "Unsupported"
        case .userAgent: "User-Agent"
        case .via: "Via"
        case .warning: "Warning"
        case .wwwAuthenticate: "WWW-Authenticate"
        }
    }

    /// The long name in lower case, for matching without allocation.
    var lowercaseName: StaticString {
        switch self {
        case .accept: "accept"
        case .acceptContact: "accept-contact"
        case .allow: "allow"
        case .allowEvents: "allow-events"
        case .authorization: "authorization"
        case .callID: "call-id"
        case .contact: "contact"
        case .contentEncoding: "content-encoding"
        case .contentLength: "content-length"
        case .contentType: "content-type"
        case .cseq: "cseq"
        case .date: "date"
        case .event: "event"
        case .expires: "expires"
        case .flowTimer: "flow-timer"
        case .from: "from"
        case .identity: "identity"
        case .maxForwards: "max-forwards"
        case .minExpires: "min-expires"
        case .path: "path"
        case .proxyAuthenticate: "proxy-authenticate"
        case .proxyAuthorization: "proxy-authorization"
        case .proxyRequire: "proxy-require"
        case .recordRoute: "record-route"
        case .referTo: "refer-to"
        case .referredBy: "referred-by"
        case .rejectContact: "reject-contact"
        case .requestDisposition: "request-disposition"
        case .require: "require"
        case .retryAfter: "retry-after"
        case .route: "route"
        case .server: "server"
        case .sessionExpires: "session-expires"
        case .subject: "subject"
        case .supported: "supported"
        case .timestamp: "timestamp"
        case .to: "to"
        case .unsupported: "unsupported"
        case .userAgent: "user-agent"
        case .via: "via"
        case .warning: "warning"
        case .wwwAuthenticate: "www-authenticate"
        }
    }

    /// The one-letter compact form, if the header has one (RFC 3261 §7.3.3 and later RFCs).
    var compactForm: UInt8? {
        switch self {
        case .via: UInt8(ascii: "v")
        case .from: UInt8(ascii: "f")
        case .to: UInt8(ascii: "t")
        case .callID: UInt8(ascii: "i")
        case .contentLength: UInt8(ascii: "l")
        case .contentType: UInt8(ascii: "c")
        case .contact: UInt8(ascii: "m")
        case .supported: UInt8(ascii: "k")
        case .contentEncoding: UInt8(ascii: "e")
        case .subject: UInt8(ascii: "s")
        case .event: UInt8(ascii: "o")
        case .referTo: UInt8(ascii: "r")
        case .referredBy: UInt8(ascii: "b")
        case .allowEvents: UInt8(ascii: "u")
        case .sessionExpires: UInt8(ascii: "x")
        case .identity: UInt8(ascii: "y")
        case .acceptContact: UInt8(ascii: "a")
        case .rejectContact: UInt8(ascii: "j")
        case .requestDisposition: UInt8(ascii: "d")
        case .accept, .allow, .authorization, .cseq, .date, .expires, .flowTimer, .maxForwards, .minExpires,
             .path, .proxyAuthenticate, .proxyAuthorization, .proxyRequire, .recordRoute, .require,
             .retryAfter, .route, .server, .timestamp, .unsupported, .userAgent, .warning, .wwwAuthenticate:
            nil
        }
    }

    /// Whether several values may share one header line, separated by commas (RFC 3261 §7.3.1).
    var isCommaSeparatedList: Bool {
        switch self {
        case .via, .contact, .route, .recordRoute, .path, .supported, .require, .proxyRequire, .unsupported,
             .allow, .accept, .allowEvents, .contentEncoding, .acceptContact, .rejectContact:
            true
        case .authorization, .callID, .contentLength, .contentType, .cseq, .date, .event, .expires, .flowTimer,
             .from, .identity, .maxForwards, .minExpires, .proxyAuthenticate, .proxyAuthorization, .referTo,
             .referredBy, .requestDisposition, .retryAfter, .server, .sessionExpires, .subject, .timestamp, .to,
             .userAgent, .warning, .wwwAuthenticate:
            false
        }
    }

    /// A perfect hash of the lower-cased long names: length, first, middle and last byte.
    @inline(__always)
    private static func slot(length: Int, first: UInt8, middle: UInt8, last: UInt8) -> Int {
        (length &+ Int(first) &* 4 &+ Int(last) &* 20 &+ Int(middle)) & 255
    }

    /// For each hash slot, `"0"` plus the raw value + 1 of the header there (`"0"` for none): a
    /// static table, read without reference counting. `KnownSIPHeaderTests` recomputes it.
    static let slotTable: StaticString = ">000Q2000000T8=00000S007000000EV000G00O0M00000B0P00C0Z0000000000030000000K000R0W00000000D0000Y0000000000000000000000000000000000000000000000000@0050A000000000000000000000000000000000000J000000000000000;000006000F0000X000L00000000H09N000<UI0:4000000000000?1"

    /// For each ASCII letter, `"0"` plus the raw value + 1 of the header with that compact form.
    static let compactTable: StaticString = "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002J:L8@006KS970=00IRU4X0QA000000"

    /// Computes the content of `slotTable` and `compactTable` from the names (for the test that
    /// keeps them in step).
    static func computedTables() -> (slots: [UInt8], compact: [UInt8]) {
        var slots = [UInt8](repeating: 0x30, count: 256)
        var compact = [UInt8](repeating: 0x30, count: 128)
        for header in KnownSIPHeader.allCases {
            let name = Array(header.canonicalName.lowercased().utf8)
            slots[slot(length: name.count, first: name[0], middle: name[name.count / 2], last: name[name.count - 1])] =
                0x30 + header.rawValue + 1
            if let letter = header.compactForm { compact[Int(letter)] = 0x30 + header.rawValue + 1 }
        }
        return (slots, compact)
    }

    /// Identifies a header name given as bytes, ignoring ASCII case. The bytes must be token
    /// characters (RFC 3261 §25.1).
    init?(matching name: UnsafeRawBufferPointer) {
        let count = name.count
        guard count > 0 else { return nil }
        if count == 1 {
            let letter = name[0].asciiLowercased
            guard letter < 128, case let entry = Self.compactTable.utf8Start[Int(letter)] &- 0x30, entry != 0 else { return nil }
            self.init(rawValue: entry &- 1)
            return
        }
        let slot = Self.slot(length: count, first: name[0].asciiLowercased, middle: name[count / 2].asciiLowercased,
                              last: name[count - 1].asciiLowercased)
        let entry = Self.slotTable.utf8Start[slot] &- 0x30
        guard entry != 0, let candidate = KnownSIPHeader(rawValue: entry &- 1) else { return nil }
        let lowercase = candidate.lowercaseName
        guard lowercase.utf8CodeUnitCount == count else { return nil }
        // Token names only: OR-ing 0x20 lowers letters and leaves digits and '-' alone, while no
        // other token character becomes a letter, digit or '-'.
        let canonical = UnsafeRawPointer(lowercase.utf8Start)
        var index = 0
        while index &+ 8 <= count {
            let word = name.loadUnaligned(fromByteOffset: index, as: UInt64.self) | 0x2020_2020_2020_2020
            guard word == canonical.loadUnaligned(fromByteOffset: index, as: UInt64.self) else { return nil }
            index &+= 8
        }
        while index < count {
            guard name[index] | 0x20 == canonical.load(fromByteOffset: index, as: UInt8.self) else { return nil }
            index &+= 1
        }
        self = candidate
    }

    /// Identifies a header name given as text, ignoring ASCII case.
    init?(matching name: Substring) {
        guard SIPText.isToken(name) else { return nil }
        var name = name
        guard let header = name.withUTF8({ KnownSIPHeader(matching: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = header
    }
}
