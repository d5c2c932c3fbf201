import NIOCore

/// Parses SIP messages from a byte stream (incrementally) or from a datagram (whole).
///
/// The parser frames and splits: start line, header fields (folding undone, compact and long
/// names kept as written) and a body delimited by Content-Length. Grammar checks of individual
/// header values belong to ``SIPMessage/validate(_:)``, which a server applies next.
public struct SIPParser: Sendable {
    /// Limits that protect a receiver from oversized or abusive input.
    public struct Limits: Sendable, Hashable {
        /// Largest message, header section plus body, in bytes. Default 65,536 (64 KiB).
        public var maxMessageSize: Int
        /// Most header field lines in one message. Default 256.
        public var maxHeaderCount: Int
        /// Longest single line in bytes. Default 8,192.
        public var maxLineLength: Int

        /// Creates limits; every parameter has the documented default.
        public init(maxMessageSize: Int = 65_536, maxHeaderCount: Int = 256, maxLineLength: Int = 8_192) {
            self.maxMessageSize = maxMessageSize
            self.maxHeaderCount = maxHeaderCount
            self.maxLineLength = maxLineLength
        }
    }

    /// The limits this parser enforces.
    public let limits: Limits
    /// Bytes of the current header section already searched for its end.
    private var searched = 0
    /// A header section parsed while its body is still arriving.
    private var pending: (head: SIPMessageHead, bodyStart: Int, bodyLength: Int)?

    /// Creates a parser.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Takes the next complete message from the front of a stream buffer, or returns `nil` when
    /// more bytes are needed. Consumed bytes are removed from `buffer`; leading CRLFs are skipped
    /// (RFC 3261 §7.5). A thrown error means the stream can no longer be framed.
    public mutating func nextMessage(from buffer: inout ByteBuffer) throws(SIPParseError) -> SIPMessage? {
        if pending == nil {
            Self.skipLeadingLineBreaks(&buffer)
            let scan = buffer.withUnsafeReadableBytes { SIPHeadScanner.findEnd(in: $0, from: searched) }
            switch scan {
            case .needMore(let resumeAt):
                searched = resumeAt
                if buffer.readableBytes > limits.maxLineLength,
                   !buffer.readableBytesView.prefix(limits.maxLineLength + 2).contains(UInt8(ascii: "\n")) {
                    throw Self.tooLarge("the first line exceeds \(limits.maxLineLength) bytes")
                }
                if buffer.readableBytes > limits.maxMessageSize {
                    throw Self.tooLarge("header section exceeds \(limits.maxMessageSize) bytes")
                }
                return nil
            case .found(let headLength, let bodyStart):
                searched = 0
                var ignored = 0
                let head = try SIPMessageHead(buffer: buffer, length: headLength, limits: limits, bodyStart: &ignored)
                guard let contentLength = head.contentLength else {
                    throw .badRequest(.badContentLength, "Content-Length is required on a stream transport (RFC 3261 §18.3)")
                }
                guard bodyStart + contentLength <= limits.maxMessageSize else {
                    throw Self.tooLarge("message of \(bodyStart + contentLength) bytes exceeds \(limits.maxMessageSize)")
                }
                pending = (head, bodyStart, contentLength)
            }
        }
        guard let (head, bodyStart, bodyLength) = pending, buffer.readableBytes >= bodyStart + bodyLength else {
            return nil
        }
        pending = nil
        let body = buffer.getSlice(at: buffer.readerIndex + bodyStart, length: bodyLength)!
        buffer.moveReaderIndex(forwardBy: bodyStart + bodyLength)
        return head.message(body: body)
    }

    /// Parses one datagram (RFC 3261 §18.3): without Content-Length the body runs to the end;
    /// bytes past Content-Length are ignored; a Content-Length beyond the datagram is an error.
    public static func parseDatagram(_ datagram: ByteBuffer, limits: Limits = Limits()) throws(SIPParseError) -> SIPMessage {
        var buffer = datagram
        guard buffer.readableBytes <= limits.maxMessageSize else {
            throw tooLarge("datagram of \(buffer.readableBytes) bytes exceeds \(limits.maxMessageSize)")
        }
        skipLeadingLineBreaks(&buffer)
        var bodyStart = 0
        let head = try SIPMessageHead(buffer: buffer, length: nil, limits: limits, bodyStart: &bodyStart)
        let available = buffer.readableBytes - bodyStart
        let bodyLength = head.contentLength ?? available
        guard bodyLength <= available else {
            let error = SIPParseError.badRequest(
                .badContentLength, "Content-Length \(bodyLength) is larger than the \(available) body bytes received")
            throw head.isResponse ? error.dropped : error
        }
        return head.message(body: buffer.getSlice(at: buffer.readerIndex + bodyStart, length: bodyLength)!)
    }

    /// Parses a whole message held in a string, as a datagram.
    public static func parse(_ text: String, limits: Limits = Limits()) throws(SIPParseError) -> SIPMessage {
        try parseDatagram(ByteBuffer(string: text), limits: limits)
    }

    private static func skipLeadingLineBreaks(_ buffer: inout ByteBuffer) {
        while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") {
            buffer.moveReaderIndex(forwardBy: 1)
        }
    }

    static func tooLarge(_ detail: String) -> SIPParseError {
        SIPParseError(.tooLarge, status: 513, reasonPhrase: "Message Too Large", detail: detail)
    }
}

extension SIPParser {
    /// Whether a message can start with this byte: a method is a token and a response starts
    /// with `SIP/`. Stream framers use it to reject garbage at once.
    public static func canStartMessage(_ byte: UInt8) -> Bool {
        SIPText.isToken(byte)
    }
}
