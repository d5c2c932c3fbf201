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
        let layout = try SIPText.withBytes(text) { bytes throws(SIPParseError) in try Layout(bytes, text: text) }
        protocolName = SIPText.slice(text, layout.protocolName.lowerBound, layout.protocolName.upperBound)
        protocolVersion = SIPText.slice(text, layout.protocolVersion.lowerBound, layout.protocolVersion.upperBound)
        transport = SIPText.slice(text, layout.transport.lowerBound, layout.transport.upperBound)
        host = SIPText.slice(text, layout.host.lowerBound, layout.host.upperBound)
        port = layout.port
        parameters = try SIPParameters(parsing: SIPText.slice(text, layout.parametersStart, text.utf8.count),
                                       grammar: .header, context: "Via \"\(text)\"")
        if let rport = parameters["rport"], !rport.isEmpty, SIPText.parseNumber(rport, maximum: 65535) == nil {
            throw Layout.failure("invalid rport", text)
        }
        if let branch = parameters["branch"], branch.isEmpty { throw Layout.failure("empty branch", text) }
    }

    /// Where the parts of a Via value are, as byte offsets: found in one pass over the bytes.
    private struct Layout {
        var protocolName: Range<Int>
        var protocolVersion: Range<Int>
        var transport: Range<Int>
        var host: Range<Int>
        var port: Int?
        var parametersStart: Int

        static func failure(_ why: String, _ text: Substring) -> SIPParseError {
            .badRequest(.badHeaderValue, "\(why) in Via \"\(text)\"")
        }

        init(_ bytes: UnsafeBufferPointer<UInt8>, text: Substring) throws(SIPParseError) {
            let count = bytes.count
            var index = 0
            func skipWhitespace() {
                while index < count, SIPText.isWhitespace(bytes[index]) { index &+= 1 }
            }
            func token() -> Range<Int> {
                let start = index
                while index < count, SIPText.isToken(bytes[index]) { index &+= 1 }
                return start..<index
            }
            func slash() throws(SIPParseError) {
                skipWhitespace()
                guard index < count, bytes[index] == UInt8(ascii: "/") else { throw Self.failure("malformed sent-protocol", text) }
                index &+= 1
                skipWhitespace()
            }
            protocolName = token()
            try slash()
            protocolVersion = token()
            try slash()
            transport = token()
            guard !protocolName.isEmpty, !protocolVersion.isEmpty, !transport.isEmpty else {
                throw Self.failure("malformed sent-protocol", text)
            }
            let beforeHost = index
            skipWhitespace()
            guard index > beforeHost else { throw Self.failure("missing space before sent-by", text) }
            let hostStart = index
            if index < count, bytes[index] == UInt8(ascii: "[") {
                while index < count, bytes[index] != UInt8(ascii: "]") { index &+= 1 }
                guard index < count else { throw Self.failure("unterminated IPv6 reference", text) }
                index &+= 1
            } else {
                while index < count, bytes[index] != UInt8(ascii: ":"), bytes[index] != UInt8(ascii: ";"),
                      !SIPText.isWhitespace(bytes[index]) {
                    index &+= 1
                }
            }
            host = hostStart..<index
            guard SIPURI.isValidHost(bytes, host) else { throw Self.failure("invalid sent-by host", text) }
            skipWhitespace()
            port = nil
            if index < count, bytes[index] == UInt8(ascii: ":") {
                index &+= 1
                skipWhitespace()
                let start = index
                var value = 0
                while index < count, SIPText.isDigit(bytes[index]) {
                    value = min(value &* 10 &+ Int(bytes[index] &- UInt8(ascii: "0")), 65_536)
                    index &+= 1
                }
                guard index > start, value <= 65535 else { throw Self.failure("invalid port", text) }
                port = value
                skipWhitespace()
            }
            parametersStart = index
        }
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
