import NIOCore
import SIPCore

/// One unit read from a SIP stream (TCP or TLS), as RFC 5626 §3.5.1 and RFC 7983-style
/// demultiplexing define it (SPEC B10).
public enum SIPStreamFrame: Sendable, Equatable {
    /// A complete SIP message, framed by Content-Length.
    case sip(SIPMessage)
    /// A complete STUN message (first byte 0x00–0x03 and the magic cookie), raw bytes.
    case stun(ByteBuffer)
    /// A double-CRLF keepalive ping.
    case ping
    /// A single-CRLF keepalive pong.
    case pong
}

/// A stream that can no longer be framed: the connection must be closed. When the cause is a
/// SIP message, `sipError` says what a server answers before closing (400, 513).
public struct SIPStreamFramingError: Error, Sendable, CustomStringConvertible {
    /// Why framing failed.
    public var detail: String
    /// The SIP-level error, when the offending bytes were a SIP message.
    public var sipError: SIPParseError?
    /// The bytes of that message as far as they were read (its start line and headers), for ``answer``.
    public var head: ByteBuffer?

    /// Creates a framing error.
    public init(detail: String, sipError: SIPParseError? = nil, head: ByteBuffer? = nil) {
        self.detail = detail
        self.sipError = sipError
        self.head = head
    }

    public var description: String { "stream framing error: \(detail)" }
}
