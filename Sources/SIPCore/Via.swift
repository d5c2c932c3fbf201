/// One Via header value: `SIP/2.0/TLS host:port;branch=…;received=…;rport` (RFC 3261 §20.42,
/// RFC 3581).
public struct Via: Hashable, Sendable, CustomStringConvertible {
    /// The protocol name, normally `SIP`.
    public var protocolName: Substring
    /// The protocol version, normally `2.0`.
    public var protocolVersion: Substring
    /// The transport as written (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, or an extension).
    public var transport: Substring
    /// The sent-by host.
    public var host: Substring
    /// The sent-by port, when given.
    public var port: Int?
    /// The parameters, unknown ones included.
    public var parameters: SIPParameters

    /// Creates a Via.
    public init(transport: String, host: String, port: Int?, branch: String, parameters: SIPParameters = SIPParameters()) {
        protocolName = "SIP"
        protocolVersion = "2.0"
        self.transport = Substring(transport)
        self.host = Substring(host)
        self.port = port
        self.parameters = parameters
        self.parameters.set("branch", branch)
    }

    /// The `branch` parameter.
    public var branch: Substring? { parameters["branch"] }
    /// The `received` parameter.
    public var received: Substring? { parameters["received"] }

    /// The RFC 3581 `rport` parameter.
    public enum RPort: Hashable, Sendable {
        /// No `rport` parameter.
        case absent
        /// `rport` without a value: the sender asks for it to be filled in.
        case requested
        /// `rport=N`.
        case value(Int)
    }

    /// The `rport` parameter.
    public var rport: RPort {
        guard let value = parameters["rport"] else { return .absent }
        guard !value.isEmpty, let port = SIPText.parseNumber(value, maximum: 65535) else { return .requested }
        return .value(Int(port))
    }

    /// Whether the branch starts with the RFC 3261 magic cookie `z9hG4bK`.
    public var hasRFC3261Branch: Bool {
        branch?.hasPrefix("z9hG4bK") ?? false
    }

    /// Parses one Via value.
    public init(parsing value: some StringProtocol) throws(SIPParseError) {
        let text = SIPText.trim(Substring(value))
        let utf8 = text.utf8
        var cursor = utf8.startIndex
        func fail(_ why: String) -> SIPParseError {
            .badRequest(.badHeaderValue, "\(why) in Via \"\(text)\"")
        }
        func skipWhitespace() {
            while cursor < utf8.endIndex, SIPText.isWhitespace(utf8[cursor]) { cursor = utf8.index(after: cursor) }
        }
        func token() -> Substring {
            let start = cursor
            while cursor < utf8.endIndex, SIPText.isToken(utf8[cursor]) { cursor = utf8.index(after: cursor) }
            return text[start..<cursor]
        }
        func slash() throws(SIPParseError) {
            skipWhitespace()
            guard cursor < utf8.endIndex, utf8[cursor] == UInt8(ascii: "/") else { throw fail("malformed sent-protocol") }
            cursor = utf8.index(after: cursor)
            skipWhitespace()
        }
        protocolName = token()
        try slash()
        protocolVersion = token()
        try slash()
        transport = token()
        guard !protocolName.isEmpty, !protocolVersion.isEmpty, !transport.isEmpty else { throw fail("malformed sent-protocol") }
        let beforeHost = cursor
        skipWhitespace()
        guard cursor > beforeHost else { throw fail("missing space before sent-by") }
        let hostStart = cursor
        if cursor < utf8.endIndex, utf8[cursor] == UInt8(ascii: "[") {
            guard let close = text[cursor...].utf8.firstIndex(of: UInt8(ascii: "]")) else { throw fail("unterminated IPv6 reference") }
            cursor = utf8.index(after: close)
        } else {
            while cursor < utf8.endIndex, ![UInt8(ascii: ":"), UInt8(ascii: ";")].contains(utf8[cursor]),
                  !SIPText.isWhitespace(utf8[cursor]) {
                cursor = utf8.index(after: cursor)
            }
        }
        host = text[hostStart..<cursor]
        guard SIPURI.isValidHost(host) else { throw fail("invalid sent-by host") }
        skipWhitespace()
        port = nil
        if cursor < utf8.endIndex, utf8[cursor] == UInt8(ascii: ":") {
            cursor = utf8.index(after: cursor)
            skipWhitespace()
            let start = cursor
            while cursor < utf8.endIndex, SIPText.isDigit(utf8[cursor]) { cursor = utf8.index(after: cursor) }
            guard let number = SIPText.parseNumber(text[start..<cursor], maximum: 65535) else { throw fail("invalid port") }
            port = Int(number)
            skipWhitespace()
        }
        parameters = try SIPParameters(parsing: text[cursor...], grammar: .header, context: "Via \"\(text)\"")
        if let rport = parameters["rport"], !rport.isEmpty, SIPText.parseNumber(rport, maximum: 65535) == nil {
            throw fail("invalid rport")
        }
        if let branch = parameters["branch"], branch.isEmpty { throw fail("empty branch") }
    }

    /// The Via as it would be written in a header.
    public var description: String {
        var output = "\(protocolName)/\(protocolVersion)/\(transport) \(host)"
        if let port {
            output.append(":")
            output.append(String(port))
        }
        parameters.write(to: &output)
        return output
    }
}
