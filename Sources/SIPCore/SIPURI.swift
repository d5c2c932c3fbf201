/// A SIP, SIPS or tel URI (RFC 3261 §19.1, RFC 3966). Other schemes are kept opaque.
///
/// Escaped parts (`user`, `password`, parameter names and values) are kept as written;
/// `decodedUser` gives the unescaped user part, where `%00` is a real NUL (RFC 4475 §3.1.1.4).
public struct SIPURI: Hashable, Sendable, CustomStringConvertible {
    /// The scheme as written (`sip`, `sips`, `tel`, …).
    public var scheme: Substring
    /// The user part, escapes kept; `nil` when the URI has no `@`.
    public var user: Substring?
    /// The password after `user:`, escapes kept.
    public var password: Substring?
    /// The host: a name, an IPv4 address or a bracketed IPv6 reference. For `tel` the number;
    /// for other schemes everything after the colon.
    public var host: Substring
    /// The port, when given.
    public var port: Int?
    /// The URI parameters (`;transport=tls;lr`).
    public var parameters: SIPParameters
    /// The raw header part after `?`, if any.
    public var headers: Substring?

    /// Creates a SIP URI from parts.
    public init(scheme: String = "sip", user: String? = nil, host: String, port: Int? = nil,
                parameters: SIPParameters = SIPParameters()) {
        self.scheme = Substring(scheme)
        self.user = user.map { Substring($0) }
        self.password = nil
        self.host = Substring(host)
        self.port = port
        self.parameters = parameters
        self.headers = nil
    }

    /// Whether the scheme is `sip` or `sips`.
    public var isSIP: Bool {
        SIPParameters.sameName(scheme, "sip") || SIPParameters.sameName(scheme, "sips")
    }

    /// The user part with `%HH` escapes decoded.
    public var decodedUser: String? {
        user.flatMap { SIPText.percentDecoded($0) }
    }

    /// The host without IPv6 brackets.
    public var hostWithoutBrackets: Substring {
        if host.utf8.first == UInt8(ascii: "["), host.utf8.last == UInt8(ascii: "]") {
            return host.dropFirst().dropLast()
        }
        return host
    }

    /// Parses a URI; whitespace anywhere is an error (RFC 4475 §3.1.2.8).
    public init(parsing text: some StringProtocol) throws(SIPParseError) {
        let text = Substring(text)
        let layout = try SIPText.withBytes(text) { bytes throws(SIPParseError) in try URILayout(bytes) }
        func part(_ range: Range<Int>) -> Substring { SIPText.slice(text, range.lowerBound, range.upperBound) }
        scheme = part(layout.scheme)
        user = layout.user.map(part)
        password = layout.password.map(part)
        host = part(layout.host)
        port = layout.port
        headers = layout.headers.map(part)
        parameters = SIPParameters()
        if !layout.parameters.isEmpty {
            parameters = try SIPParameters(parsing: part(layout.parameters), grammar: .uri, context: "URI \"\(text)\"")
        }
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
                if afterClose < hostPortEnd { port = try Self.port(bytes, afterClose &+ 1, hostPortEnd, fail) }
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
        var output = String(scheme)
        output.append(":")
        if let user {
            output.append(contentsOf: user)
            if let password {
                output.append(":")
                output.append(contentsOf: password)
            }
            output.append("@")
        }
        output.append(contentsOf: host)
        if let port {
            output.append(":")
            output.append(String(port))
        }
        parameters.write(to: &output)
        if let headers {
            output.append("?")
            output.append(contentsOf: headers)
        }
        return output
    }
}
