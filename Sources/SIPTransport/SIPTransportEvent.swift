import NIOCore
import SIPCore

/// What a ``SIPTransportLayer`` reports to its owner.
public enum SIPTransportEvent: Sendable {
    /// A SIP message arrived on a flow.
    case sip(SIPMessage, Flow)
    /// A STUN message arrived on a flow (raw bytes; never given to a SIP parser, SPEC B24).
    case stun(ByteBuffer, Flow)
    /// A CRLFCRLF keepalive ping arrived (RFC 5626 §3.5.1); the transport has already answered.
    case ping(Flow)
    /// A CRLF keepalive pong arrived.
    case pong(Flow)
    /// A datagram that is not a parseable SIP message: a server answers requests statelessly.
    case malformed(SIPParseError, raw: ByteBuffer, Flow)
    /// A connection opened (accepted or connected).
    case flowOpened(Flow)
    /// A connection closed, for the given reason.
    case flowClosed(Flow, reason: String)
}
