import NIOCore

/// The first line of a request: `Method SP Request-URI SP SIP-Version`.
public struct SIPRequestLine: Hashable, Sendable {
    /// The method, case-sensitive (`REGISTER`, `INVITE`, …).
    public var method: String
    /// The Request-URI as written.
    public var uri: Substring
    /// The version, `SIP/2.0` for any message this stack accepts.
    public var version: Substring

    /// Creates a request line.
    public init(method: String, uri: some StringProtocol, version: String = "SIP/2.0") {
        self.method = method
        self.uri = uri.substring
        self.version = Substring(version)
    }
}

/// The first line of a response: `SIP-Version SP Status-Code SP Reason-Phrase`.
public struct SIPStatusLine: Hashable, Sendable {
    /// The version.
    public var version: Substring
    /// The status code, 100–699.
    public var statusCode: Int
    /// The reason phrase, possibly empty.
    public var reasonPhrase: Substring

    /// Creates a status line.
    public init(statusCode: Int, reasonPhrase: some StringProtocol, version: String = "SIP/2.0") {
        self.version = Substring(version)
        self.statusCode = statusCode
        self.reasonPhrase = reasonPhrase.substring
    }
}

/// A request line or a status line.
public enum SIPStartLine: Hashable, Sendable {
    case request(SIPRequestLine)
    case response(SIPStatusLine)
}

/// A SIP request or response: start line, ordered header fields and body (RFC 3261 §7).
///
/// Header values are slices of the received text, so parsing copies the header section once and
/// the body not at all. Typed views (`vias()`, `cseq()`, `contacts()`, …) parse on demand.
/// The parts live in one copy-on-write box, so handing a message along costs one reference.
public struct SIPMessage: Sendable, Equatable {
    private var storage: Storage

    /// The parts of a message. Changed only through a uniquely referenced box (copy on write),
    /// so no access can overlap a change and the runtime's exclusivity checks are left out.
    private final class Storage: @unchecked Sendable {
        @exclusivity(unchecked) var startLine: SIPStartLine
        @exclusivity(unchecked) var headers: SIPHeaders
        @exclusivity(unchecked) var body: ByteBuffer
        @exclusivity(unchecked) var parseWarnings: [String] = []
        @exclusivity(unchecked) var views: HeaderViews?

        init(startLine: SIPStartLine, headers: SIPHeaders, body: ByteBuffer) {
            self.startLine = startLine
            self.headers = headers
            self.body = body
        }

        func copy() -> Storage {
            let copy = Storage(startLine: startLine, headers: headers, body: body)
            copy.parseWarnings = parseWarnings
            copy.views = views
            return copy
        }
    }

    private mutating func uniqueStorage() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    /// The request or status line.
    public var startLine: SIPStartLine {
        _read { yield storage.startLine }
        set { uniqueStorage().startLine = newValue }
    }

    /// The header fields in order.
    public var headers: SIPHeaders {
        _read { yield storage.headers }
        _modify {
            let box = uniqueStorage()
            box.views = nil
            yield &box.headers
        }
        set {
            let box = uniqueStorage()
            box.views = nil
            box.headers = newValue
        }
    }

    /// The body bytes.
    public var body: ByteBuffer {
        _read { yield storage.body }
        set { uniqueStorage().body = newValue }
    }

    /// Irregularities the parser tolerated (extra spaces in the start line, …). Not part of equality.
    public var parseWarnings: [String] {
        get { storage.parseWarnings }
        set { uniqueStorage().parseWarnings = newValue }
    }

    /// The header views ``validateKeepingViews(_:)`` parsed, reused by the typed accessors until
    /// a header changes. Not part of equality.
    var views: HeaderViews? {
        get { storage.views }
        set { uniqueStorage().views = newValue }
    }

    /// Creates a message.
    public init(startLine: SIPStartLine, headers: SIPHeaders = SIPHeaders(), body: ByteBuffer = ByteBuffer()) {
        storage = Storage(startLine: startLine, headers: headers, body: body)
    }

    /// Creates a request.
    public static func request(method: String, uri: some StringProtocol, headers: SIPHeaders = SIPHeaders(),
                               body: ByteBuffer = ByteBuffer()) -> SIPMessage {
        SIPMessage(startLine: .request(SIPRequestLine(method: method, uri: uri)), headers: headers, body: body)
    }

    /// Creates a response.
    public static func response(statusCode: Int, reasonPhrase: String, headers: SIPHeaders = SIPHeaders(),
                                body: ByteBuffer = ByteBuffer()) -> SIPMessage {
        SIPMessage(startLine: .response(SIPStatusLine(statusCode: statusCode, reasonPhrase: reasonPhrase)),
                   headers: headers, body: body)
    }

    public static func == (lhs: SIPMessage, rhs: SIPMessage) -> Bool {
        lhs.startLine == rhs.startLine && lhs.headers == rhs.headers && lhs.body == rhs.body
    }

    /// Whether this is a request.
    public var isRequest: Bool {
        if case .request = startLine { return true }
        return false
    }

    /// The request line, for a request.
    public var requestLine: SIPRequestLine? {
        if case .request(let line) = startLine { return line }
        return nil
    }

    /// The status line, for a response.
    public var statusLine: SIPStatusLine? {
        if case .response(let line) = startLine { return line }
        return nil
    }

    /// The method of a request, or the CSeq method of a response.
    public var method: String? {
        switch startLine {
        case .request(let line): line.method
        case .response: try? cseq().method
        }
    }

    /// Replaces the body and sets Content-Length to match.
    public mutating func setBody(_ newBody: ByteBuffer, contentType: String? = nil) {
        body = newBody
        headers.set(.contentLength, String(newBody.readableBytes))
        if let contentType { headers.set(.contentType, contentType) }
    }
}
