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

    /// Long names in lower case, bucketed by length, for matching without allocation.
    private static let byLength: [[(name: [UInt8], header: KnownSIPHeader)]] = {
        var table = [[(name: [UInt8], header: KnownSIPHeader)]](repeating: [], count: 32)
        for header in KnownSIPHeader.allCases {
            let bytes = Array(header.canonicalName.lowercased().utf8)
            table[bytes.count].append((bytes, header))
        }
        return table
    }()

    private static let byCompactForm: [KnownSIPHeader?] = {
        var table = [KnownSIPHeader?](repeating: nil, count: 128)
        for header in KnownSIPHeader.allCases {
            if let letter = header.compactForm { table[Int(letter)] = header }
        }
        return table
    }()

    /// Identifies a header name given as bytes, ignoring ASCII case.
    init?(matching name: some Collection<UInt8>) {
        let count = name.count
        if count == 1 {
            let letter = name.first!.asciiLowercased
            guard letter < 128, let header = Self.byCompactForm[Int(letter)] else { return nil }
            self = header
            return
        }
        guard count < Self.byLength.count else { return nil }
        for candidate in Self.byLength[count]
        where name.elementsEqual(candidate.name, by: { $0.asciiLowercased == $1 }) {
            self = candidate.header
            return
        }
        return nil
    }
}
