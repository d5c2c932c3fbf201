import NIOCore
import SIPCore
import STUNCore

/// What a received datagram is, by its first bytes (RFC 7983 §7, RFC 5626 §3.5.1).
public enum SIPDatagramKind: Sendable, Equatable {
    /// A STUN message: first byte 0x00–0x03, the magic cookie and a matching length.
    case stun
    /// A SIP message (anything starting with a token character).
    case sip
    /// Only CR and LF bytes: a keepalive some clients send on UDP; nothing to answer.
    case keepalive
    /// Bytes that are neither; dropped.
    case garbage

    /// Classifies a datagram without copying it.
    public init(classifying datagram: ByteBuffer) {
        let view = datagram.readableBytesView
        guard let first = view.first else {
            self = .keepalive
            return
        }
        switch first {
        case 0x00...0x03:
            let length = STUNMessage.frameLength(view.prefix(STUNMessage.headerSize))
            self = length == view.count ? .stun : .garbage
        case 0x0D, 0x0A:
            self = view.allSatisfy { $0 == 0x0D || $0 == 0x0A } ? .keepalive : .sip
        default:
            self = SIPParser.canStartMessage(first) ? .sip : .garbage
        }
    }
}
