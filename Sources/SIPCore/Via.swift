/// One Via header value: `SIP/2.0/TLS host:port;branch=…;received=…;rport` (RFC 3261 §20.42,
/// RFC 3581).
///
/// A parsed Via keeps its text and the byte offsets of its parts (its parameters share the
/// text), so parsing makes no strings and copying one costs a reference or two.
public struct Via: Hashable, Sendable, CustomStringConvertible {
    /// The text `layout` points into.
    private var text: Substring
    private var layout: Layout
    /// The parameters, unknown ones included.
    public var parameters: SIPParameters

    /// Where the sent-protocol and sent-by are in `text`.
    private struct Layout: Sendable {
        var protocolName: TextSpan
        var protocolVersion: TextSpan
        var transport: TextSpan
        var host: TextSpan
        var port: Int32
        /// Just past the sent-by.
        var sentByEnd: Int32
        /// Whether `text` up to `sentByEnd` is already the canonical `name/version/transport host:port`.
        var isCanonical: Bool
    }

    /// The protocol name, normally `SIP`.
    public var protocolName: Substring {
        get { SIPText.slice(text, layout.protocolName) }
        set { rewrite(protocolName: newValue) }
    }
    /// The protocol version, normally `2.0`.
    public var protocolVersion: Substring {
        get { SIPText.slice(text, layout.protocolVersion) }
        set { rewrite(protocolVersion: newValue) }
    }
    /// The transport as written (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`, or an extension).
    public var transport: Substring {
        get { SIPText.slice(text, layout.transport) }
        set { rewrite(transport: newValue) }
    }
    /// The sent-by host.
    public var host: Substring {
        get { SIPText.slice(text, layout.host) }
        set { rewrite(host: newValue) }
    }
    /// The sent-by port, when given.
    public var port: Int? {
        get { layout.port < 0 ? nil : Int(layout.port) }
        set { rewrite(port: .some(newValue)) }
    }

    /// Creates a Via.
    public init(transport: String, host: String, port: Int?, branch: String, parameters: SIPParameters = SIPParameters()) {
        text = ""
        layout = Layout(protocolName: TextSpan(0..<0), protocolVersion: TextSpan(0..<0), transport: TextSpan(0..<0),
                        host: TextSpan(0..<0), port: -1, sentByEnd: 0, isCanonical: true)
        self.parameters = parameters
        self.parameters.set("branch", branch)
        rewrite(protocolName: "SIP", protocolVersion: "2.0", transport: Substring(transport), host: Substring(host),
                port: .some(port))
    }

    /// Writes the sent-protocol and sent-by out again with the given parts changed.
    private mutating func rewrite(protocolName: Substring? = nil, protocolVersion: Substring? = nil, transport: Substring? = nil,
                                  host: Substring? = nil, port: Int?? = nil) {
        var output = ""
        func append(_ part: Substring) -> TextSpan {
            let lower = output.utf8.count
            output.append(contentsOf: part)
            return TextSpan(lower..<output.utf8.count)
        }
        let name = append(protocolName ?? self.protocolName)
        output.append("/")
        let version = append(protocolVersion ?? self.protocolVersion)
        output.append("/")
        let transportSpan = append(transport ?? self.transport)
        output.append(" ")
        let hostSpan = append(host ?? self.host)
        let newPort = port ?? self.port
        if let newPort {
            output.append(":")
            output.append(String(newPort))
        }
        text = Substring(output)
        layout = Layout(protocolName: name, protocolVersion: version, transport: transportSpan, host: hostSpan,
                        port: newPort.map { Int32(truncatingIfNeeded: $0) } ?? -1, sentByEnd: Int32(output.utf8.count),
                        isCanonical: true)
    }

    public static func == (lhs: Via, rhs: Via) -> Bool {
        lhs.protocolName == rhs.protocolName && lhs.protocolVersion == rhs.protocolVersion && lhs.transport == rhs.transport
            && lhs.host == rhs.host && lhs.port == rhs.port && lhs.parameters == rhs.parameters
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(protocolName)
        hasher.combine(protocolVersion)
        hasher.combine(transport)
        hasher.combine(host)
        hasher.combine(port)
        hasher.combine(parameters)
    }

    /// Whether the sent-by host is `host`, ignoring ASCII case (compared in place).
    func hostIs(_ host: String) -> Bool {
        var host = host
        return host.withUTF8 { wanted in
            SIPText.withBytes(text) { SIPText.sameIgnoringCase(UnsafeBufferPointer(rebasing: $0[layout.host.range]), wanted) }
        }
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
        branch?.utf8.starts(with: "z9hG4bK".utf8) ?? false
    }

    /// Parses one Via value.
    public init(parsing value: some StringProtocol) throws(SIPParseError) {
        let text = SIPText.trim(value.substring)
        let found = try SIPText.withBytes(text) { bytes throws(SIPParseError) in try Found(bytes, text: text) }
        self.text = text
        layout = found.layout
        parameters = try SIPParameters(parsing: text, from: found.parametersStart, to: text.utf8.count, grammar: .header,
                                       context: "Via \"\(text)\"")
        let rportIsValid = parameters.withValueBytes(of: "rport") { value in
            value.isEmpty || (value.count <= 5 && value.allSatisfy(SIPText.isDigit)
                && value.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } <= 65535)
        }
        if rportIsValid == false { throw Found.failure("invalid rport", text) }
        if parameters.withValueBytes(of: "branch", { $0.isEmpty }) == true { throw Found.failure("empty branch", text) }
    }

    /// Where the parts of a Via value are, as byte offsets: found in one pass over the bytes.
    private struct Found {
        var protocolName: Range<Int>
        var protocolVersion: Range<Int>
        var transport: Range<Int>
        var host: Range<Int>
        var port: Int?
        var sentByEnd = 0
        var portIsCanonical = true
        var parametersStart: Int

        var layout: Layout {
            let compact = protocolVersion.lowerBound == protocolName.upperBound + 1
                && transport.lowerBound == protocolVersion.upperBound + 1 && host.lowerBound == transport.upperBound + 1
                && (port == nil ? sentByEnd == host.upperBound : portIsCanonical)
            return Layout(protocolName: TextSpan(protocolName), protocolVersion: TextSpan(protocolVersion),
                          transport: TextSpan(transport), host: TextSpan(host), port: port.map { Int32($0) } ?? -1,
                          sentByEnd: Int32(sentByEnd), isCanonical: compact)
        }

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
            sentByEnd = index
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
                sentByEnd = index
                portIsCanonical = start == host.upperBound + 1 && (bytes[start] != UInt8(ascii: "0") || index == start + 1)
                skipWhitespace()
            }
            parametersStart = index
        }
    }

    /// The Via as it would be written in a header.
    public var description: String {
        var writer = TextWriter(capacity: text.utf8.count + 48)
        if layout.isCanonical {
            writer.append(text, 0, Int(layout.sentByEnd))
        } else {
            var canonical = self
            canonical.rewrite()
            writer.append(canonical.text)
        }
        parameters.write(to: &writer)
        return writer.string
    }
}
