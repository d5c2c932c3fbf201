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
        func fail(_ why: String) -> SIPParseError {
            .badRequest(.badHeaderValue, "\(why) in URI \"\(text)\"")
        }
        guard let colon = text.utf8.firstIndex(of: UInt8(ascii: ":")) else { throw fail("missing scheme") }
        scheme = text[..<colon]
        guard let first = scheme.utf8.first, (first | 0x20) >= UInt8(ascii: "a"), (first | 0x20) <= UInt8(ascii: "z"),
              scheme.utf8.allSatisfy({ SIPText.isToken($0) && $0 != UInt8(ascii: "%") })
        else { throw fail("invalid scheme") }
        guard !text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else { throw fail("whitespace or control character") }
        var rest = text[text.utf8.index(after: colon)...]
        user = nil
        password = nil
        port = nil
        headers = nil
        parameters = SIPParameters()
        let isSIP = SIPParameters.sameName(scheme, "sip") || SIPParameters.sameName(scheme, "sips")
        guard isSIP || SIPParameters.sameName(scheme, "tel") else {
            guard !rest.isEmpty else { throw fail("empty URI") }
            host = rest
            return
        }
        if isSIP, let at = rest.utf8.firstIndex(of: UInt8(ascii: "@")) {
            let userinfo = rest[..<at]
            if let passwordColon = userinfo.utf8.firstIndex(of: UInt8(ascii: ":")) {
                user = userinfo[..<passwordColon]
                password = userinfo[userinfo.utf8.index(after: passwordColon)...]
            } else {
                user = userinfo
            }
            guard !(user!.isEmpty) else { throw fail("empty user part") }
            rest = rest[rest.utf8.index(after: at)...]
        }
        if isSIP, let question = rest.utf8.firstIndex(of: UInt8(ascii: "?")) {
            headers = rest[rest.utf8.index(after: question)...]
            rest = rest[..<question]
        }
        var hostEnd = rest.utf8.firstIndex(of: UInt8(ascii: ";")) ?? rest.endIndex
        if isSIP {
            if rest.utf8.first == UInt8(ascii: "[") {
                guard let close = rest.utf8.firstIndex(of: UInt8(ascii: "]")) else { throw fail("unterminated IPv6 reference") }
                let afterClose = rest.utf8.index(after: close)
                guard afterClose == rest.endIndex || [UInt8(ascii: ":"), UInt8(ascii: ";")].contains(rest.utf8[afterClose]) else {
                    throw fail("text after IPv6 reference")
                }
                hostEnd = rest[afterClose...].utf8.firstIndex(of: UInt8(ascii: ";")) ?? rest.endIndex
            }
            host = rest[..<hostEnd]
            if let portColon = host.utf8.lastIndex(of: UInt8(ascii: ":")), host.utf8.first != UInt8(ascii: "[")
                || host.utf8[host.utf8.index(before: portColon)] == UInt8(ascii: "]") {
                let portText = host[host.utf8.index(after: portColon)...]
                guard let value = SIPText.parseNumber(portText, maximum: 65535) else { throw fail("invalid port") }
                port = Int(value)
                host = host[..<portColon]
            }
            guard Self.isValidHost(host) else { throw fail("invalid host \"\(host)\"") }
        } else {
            host = rest[..<hostEnd]
            guard !host.isEmpty else { throw fail("empty telephone number") }
        }
        parameters = try SIPParameters(parsing: rest[hostEnd...], grammar: .uri, context: "URI \"\(text)\"")
    }

    /// A host name, IPv4 address or IPv6 reference (RFC 3261 §25.1, liberal about `_`).
    static func isValidHost(_ host: Substring) -> Bool {
        let utf8 = host.utf8
        guard let first = utf8.first else { return false }
        if first == UInt8(ascii: "[") {
            guard utf8.count > 2, utf8.last == UInt8(ascii: "]") else { return false }
            return host.dropFirst().dropLast().utf8.allSatisfy {
                SIPText.hexValue($0) != nil || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".")
            }
        }
        return utf8.allSatisfy {
            ($0 | 0x20 >= UInt8(ascii: "a") && $0 | 0x20 <= UInt8(ascii: "z")) || SIPText.isDigit($0)
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_")
        }
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
