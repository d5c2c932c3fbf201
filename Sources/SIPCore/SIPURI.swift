/// A SIP, SIPS or tel URI (RFC 3261 §19.1, RFC 3966). Other schemes are kept opaque.
///
/// Escaped parts (`user`, `password`, parameter names and values) are kept as written;
/// `decodedUser` gives the unescaped user part, where `%00` is a real NUL (RFC 4475 §3.1.1.4).
///
/// A parsed URI keeps the text it was parsed from and the byte offsets of its parts, so parsing
/// makes no strings and copying one costs a single reference; a part becomes a `Substring` when
/// it is read. Changing a part writes the URI out again.
public struct SIPURI: Hashable, Sendable, CustomStringConvertible {
    /// The text the offsets point into; it may hold more than this URI (the name-addr it was
    /// parsed from).
    private var text: Substring
    private var layout: Layout
    /// The parameters of a URI built from parts or edited (a parsed URI reads its own from `text`).
    private var builtParameters: SIPParameters?

    /// Where the parts are in `text`.
    private struct Layout: Sendable {
        var whole: TextSpan
        var scheme: TextSpan
        var user: TextSpan?
        var password: TextSpan?
        var host: TextSpan
        var port: Int32
        var parameters: TextSpan
        var headers: TextSpan?
        /// Whether `whole` is already the canonical written form (the port has no leading zero).
        var isCanonical: Bool
    }

    /// The parts as values: what equality, hashing and editing work on.
    private struct Parts: Hashable {
        var scheme: Substring
        var user: Substring?
        var password: Substring?
        var host: Substring
        var port: Int?
        var parameters: SIPParameters
        var headers: Substring?
    }

    /// The scheme as written (`sip`, `sips`, `tel`, …).
    public var scheme: Substring {
        get { SIPText.slice(text, layout.scheme) }
        set { edit { $0.scheme = newValue } }
    }
    /// The user part, escapes kept; `nil` when the URI has no `@`.
    public var user: Substring? {
        get { layout.user.map { SIPText.slice(text, $0) } }
        set { edit { $0.user = newValue } }
    }
    /// The password after `user:`, escapes kept.
    public var password: Substring? {
        get { layout.password.map { SIPText.slice(text, $0) } }
        set { edit { $0.password = newValue } }
    }
    /// The host: a name, an IPv4 address or a bracketed IPv6 reference. For `tel` the number;
    /// for other schemes everything after the colon.
    public var host: Substring {
        get { SIPText.slice(text, layout.host) }
        set { edit { $0.host = newValue } }
    }
    /// The port, when given.
    public var port: Int? {
        get { layout.port < 0 ? nil : Int(layout.port) }
        set { edit { $0.port = newValue } }
    }
    /// The URI parameters (`;transport=tls;lr`).
    public var parameters: SIPParameters {
        get {
            if let builtParameters { return builtParameters }
            let span = layout.parameters
            // Checked when the URI was parsed, so this parse cannot fail.
            return (try? SIPParameters(parsing: text, from: Int(span.lower), to: Int(span.upper), grammar: .uri, context: ""))
                ?? SIPParameters()
        }
        set { edit { $0.parameters = newValue } }
    }
    /// The raw header part after `?`, if any.
    public var headers: Substring? {
        get { layout.headers.map { SIPText.slice(text, $0) } }
        set { edit { $0.headers = newValue } }
    }

    /// Creates a SIP URI from parts.
    public init(scheme: String = "sip", user: String? = nil, host: String, port: Int? = nil,
                parameters: SIPParameters = SIPParameters()) {
        self.init(Parts(scheme: Substring(scheme), user: user.map { Substring($0) }, password: nil, host: Substring(host),
                        port: port, parameters: parameters, headers: nil))
    }

    /// Writes the parts out and records where each one went.
    private init(_ parts: Parts) {
        var output = ""
        func append(_ part: Substring) -> TextSpan {
            let lower = output.utf8.count
            output.append(contentsOf: part)
            return TextSpan(lower..<output.utf8.count)
        }
        let scheme = append(parts.scheme)
        output.append(":")
        var user: TextSpan?
        var password: TextSpan?
        if let partsUser = parts.user {
            user = append(partsUser)
            if let partsPassword = parts.password {
                output.append(":")
                password = append(partsPassword)
            }
            output.append("@")
        }
        let host = append(parts.host)
        if let port = parts.port {
            output.append(":")
            output.append(String(port))
        }
        let parametersStart = output.utf8.count
        parts.parameters.write(to: &output)
        let parameters = TextSpan(parametersStart..<output.utf8.count)
        var headers: TextSpan?
        if let partsHeaders = parts.headers {
            output.append("?")
            headers = append(partsHeaders)
        }
        text = Substring(output)
        layout = Layout(whole: TextSpan(0..<output.utf8.count), scheme: scheme, user: user, password: password, host: host,
                        port: parts.port.map { Int32(truncatingIfNeeded: $0) } ?? -1, parameters: parameters, headers: headers,
                        isCanonical: true)
        builtParameters = parts.parameters
    }

    private var parts: Parts {
        Parts(scheme: scheme, user: user, password: password, host: host, port: port, parameters: parameters, headers: headers)
    }

    private mutating func edit(_ change: (inout Parts) -> Void) {
        var parts = self.parts
        change(&parts)
        self = SIPURI(parts)
    }

    public static func == (lhs: SIPURI, rhs: SIPURI) -> Bool {
        lhs.parts == rhs.parts
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(parts)
    }

    /// Whether the scheme is `sip` or `sips`.
    public var isSIP: Bool {
        SIPText.withBytes(text) { bytes in
            let scheme = UnsafeBufferPointer(rebasing: bytes[layout.scheme.range])
            return SIPText.isLowercased(scheme, "sip") || SIPText.isLowercased(scheme, "sips")
        }
    }

    /// The user part with `%HH` escapes decoded.
    public var decodedUser: String? {
        user.flatMap { SIPText.percentDecoded($0) }
    }

    /// The host without IPv6 brackets.
    public var hostWithoutBrackets: Substring {
        let host = host
        if host.utf8.first == UInt8(ascii: "["), host.utf8.last == UInt8(ascii: "]") {
            return host.dropFirst().dropLast()
        }
        return host
    }

    /// Parses a URI; whitespace anywhere is an error (RFC 4475 §3.1.2.8).
    public init(parsing text: some StringProtocol) throws(SIPParseError) {
        let text = text.substring
        try self.init(parsing: text, from: 0, to: text.utf8.count)
    }

    /// Parses the URI between two UTF-8 offsets of `text`, keeping `text` itself.
    init(parsing text: Substring, from start: Int, to end: Int) throws(SIPParseError) {
        let found = try SIPText.withBytes(text) { bytes throws(SIPParseError) in
            try URILayout(UnsafeBufferPointer(rebasing: bytes[start..<end]))
        }
        func span(_ range: Range<Int>) -> TextSpan { TextSpan(range).shifted(by: start) }
        let parameters = span(found.parameters)
        if !found.parameters.isEmpty {
            try SIPParameters.validate(text, from: Int(parameters.lower), to: Int(parameters.upper), grammar: .uri,
                                       context: "URI \"\(SIPText.slice(text, start, end))\"")
        }
        self.text = text
        layout = Layout(whole: TextSpan(start..<end), scheme: span(found.scheme), user: found.user.map(span),
                        password: found.password.map(span), host: span(found.host),
                        port: found.port.map { Int32($0) } ?? -1, parameters: parameters, headers: found.headers.map(span),
                        isCanonical: found.portIsCanonical)
        builtParameters = nil
    }

    /// Where the parts of a URI are, as byte offsets, found in one pass over its bytes.
    private struct URILayout {
        var scheme: Range<Int>
        var user: Range<Int>?
        var password: Range<Int>?
        var host: Range<Int>
        var port: Int?
        var parameters: Range<Int>
        var headers: Range<Int>?
        /// Whether the port, if any, is written without leading zeros.
        var portIsCanonical = true

        init(_ bytes: UnsafeBufferPointer<UInt8>) throws(SIPParseError) {
            let count = bytes.count
            func fail(_ why: String) -> SIPParseError {
                .badRequest(.badHeaderValue, "\(why) in URI \"\(String(decoding: bytes, as: UTF8.self))\"")
            }
            func first(_ byte: UInt8, _ from: Int, _ to: Int) -> Int? {
                var index = from
                while index < to {
                    if bytes[index] == byte { return index }
                    index &+= 1
                }
                return nil
            }
            for byte in bytes where byte <= 0x20 || byte == 0x7F { throw fail("whitespace or control character") }
            guard let colon = first(UInt8(ascii: ":"), 0, count) else { throw fail("missing scheme") }
            guard colon > 0, (bytes[0] | 0x20) >= UInt8(ascii: "a"), (bytes[0] | 0x20) <= UInt8(ascii: "z") else {
                throw fail("invalid scheme")
            }
            for index in 0..<colon where !SIPText.isToken(bytes[index]) || bytes[index] == UInt8(ascii: "%") {
                throw fail("invalid scheme")
            }
            scheme = 0..<colon
            func schemeIs(_ name: StaticString) -> Bool {
                guard name.utf8CodeUnitCount == colon else { return false }
                for index in 0..<colon where bytes[index] | 0x20 != name.utf8Start[index] { return false }
                return true
            }
            let isSIP = schemeIs("sip") || schemeIs("sips")
            var start = colon &+ 1
            var end = count
            parameters = count..<count
            guard isSIP || schemeIs("tel") else {
                guard start < count else { throw fail("empty URI") }
                host = start..<count
                return
            }
            if isSIP, let at = first(UInt8(ascii: "@"), start, end) {
                if let passwordColon = first(UInt8(ascii: ":"), start, at) {
                    user = start..<passwordColon
                    password = (passwordColon &+ 1)..<at
                } else {
                    user = start..<at
                }
                guard user!.isEmpty == false else { throw fail("empty user part") }
                start = at &+ 1
            }
            if isSIP, let question = first(UInt8(ascii: "?"), start, end) {
                headers = (question &+ 1)..<end
                end = question
            }
            var hostEnd = first(UInt8(ascii: ";"), start, end) ?? end
            guard isSIP else {
                guard hostEnd > start else { throw fail("empty telephone number") }
                host = start..<hostEnd
                parameters = hostEnd..<end
                return
            }
            var hostPortEnd = hostEnd
            if start < end, bytes[start] == UInt8(ascii: "[") {
                guard let close = first(UInt8(ascii: "]"), start, end) else { throw fail("unterminated IPv6 reference") }
                let afterClose = close &+ 1
                guard afterClose == end || bytes[afterClose] == UInt8(ascii: ":") || bytes[afterClose] == UInt8(ascii: ";") else {
                    throw fail("text after IPv6 reference")
                }
                hostEnd = first(UInt8(ascii: ";"), afterClose, end) ?? end
                hostPortEnd = hostEnd
                host = start..<afterClose
                if afterClose < hostPortEnd {
                    port = try Self.port(bytes, afterClose &+ 1, hostPortEnd, fail)
                    portIsCanonical = bytes[afterClose &+ 1] != UInt8(ascii: "0") || hostPortEnd == afterClose &+ 2
                }
            } else {
                var portColon: Int?
                var index = hostPortEnd &- 1
                while index >= start {
                    if bytes[index] == UInt8(ascii: ":") {
                        portColon = index
                        break
                    }
                    index &-= 1
                }
                if let portColon {
                    host = start..<portColon
                    port = try Self.port(bytes, portColon &+ 1, hostPortEnd, fail)
                    portIsCanonical = bytes[portColon &+ 1] != UInt8(ascii: "0") || hostPortEnd == portColon &+ 2
                } else {
                    host = start..<hostPortEnd
                }
            }
            guard SIPURI.isValidHost(bytes, host) else {
                throw fail("invalid host \"\(String(decoding: bytes[host], as: UTF8.self))\"")
            }
            parameters = hostEnd..<end
        }

        private static func port(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int,
                                 _ fail: (String) -> SIPParseError) throws(SIPParseError) -> Int {
            guard end > start, end - start <= 5 else { throw fail("invalid port") }
            var value = 0
            for index in start..<end {
                guard SIPText.isDigit(bytes[index]) else { throw fail("invalid port") }
                value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            }
            guard value <= 65535 else { throw fail("invalid port") }
            return value
        }
    }

    /// Whether the bytes in `range` are a valid host.
    static func isValidHost(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        guard let first = range.first.map({ bytes[$0] }) else { return false }
        if first == UInt8(ascii: "[") {
            guard range.count > 2, bytes[range.upperBound - 1] == UInt8(ascii: "]") else { return false }
            return bytes[(range.lowerBound + 1)..<(range.upperBound - 1)].allSatisfy {
                SIPText.hexValue($0) != nil || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".")
            }
        }
        return bytes[range].allSatisfy {
            ($0 | 0x20 >= UInt8(ascii: "a") && $0 | 0x20 <= UInt8(ascii: "z")) || SIPText.isDigit($0)
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_")
        }
    }

    /// A host name, IPv4 address or IPv6 reference (RFC 3261 §25.1, liberal about `_`).
    static func isValidHost(_ host: Substring) -> Bool {
        SIPText.withBytes(host) { isValidHost($0, 0..<$0.count) }
    }

    /// The URI in its canonical written form.
    public var description: String {
        if layout.isCanonical, builtParameters == nil { return String(SIPText.slice(text, layout.whole)) }
        if builtParameters != nil { return String(text) }
        return SIPURI(parts).description
    }
}
