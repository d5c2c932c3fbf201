import NIOCore
import SIPCore
import STUNCore

/// Turns a SIP byte stream into ``SIPStreamFrame``s: SIP by Content-Length, STUN by its header,
/// CRLF pings and pongs (SPEC B10). Garbage is a ``SIPStreamFramingError``, which closes this
/// connection only.
///
/// The parsing itself lives in ``SIPParser`` and ``STUNMessage/frameLength(_:)``; this type only
/// decides which of them owns the next byte.
public struct SIPStreamFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = SIPStreamFrame

    /// Which keepalive a side of the connection receives (RFC 5626 §4.4.1).
    public enum KeepaliveRole: Sendable {
        /// The accepting side: `CRLFCRLF` is a ping. A lone `CRLF` followed by anything else is a
        /// pong; a lone `CRLF` at the end of the data waits for the next bytes to decide.
        case server
        /// The connecting side: every `CRLF` between messages is a pong, reported at once.
        case client
    }

    private var parser: SIPParser
    private let role: KeepaliveRole
    private let maxSTUNSize: Int
    /// Whether the parser holds part of a SIP message, so the next bytes belong to it.
    private var inSIPMessage = false
    /// Whether ``Progress/frameBegun`` was sent for a frame not yet complete.
    private var announcedPartialFrame = false

    /// Told down the pipeline as a user event: a read left part of a SIP or STUN frame waiting
    /// for more bytes, or completed the frame that was waiting (a lone CR or CRLF that may yet
    /// be a keepalive does not count). The deadline handler times slow senders by it.
    public enum Progress: Sendable {
        case frameBegun
        case frameEnded
    }

    /// Creates a decoder.
    ///
    /// - Parameters:
    ///   - role: which keepalive this side receives.
    ///   - limits: the SIP parser's limits (64 KiB messages by default).
    ///   - maxSTUNSize: the largest STUN message accepted, default 2,048 bytes.
    public init(role: KeepaliveRole, limits: SIPParser.Limits = SIPParser.Limits(), maxSTUNSize: Int = 2_048) {
        self.parser = SIPParser(limits: limits)
        self.role = role
        self.maxSTUNSize = maxSTUNSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try nextFrame(&buffer) else {
            if !announcedPartialFrame, inSIPMessage || buffer.readableBytesView.first.map({ $0 <= 0x03 }) == true {
                announcedPartialFrame = true
                context.fireUserInboundEventTriggered(Progress.frameBegun)
            }
            return .needMoreData
        }
        context.fireChannelRead(wrapInboundOut(frame))
        if announcedPartialFrame {
            announcedPartialFrame = false
            context.fireUserInboundEventTriggered(Progress.frameEnded)
        }
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while let frame = try nextFrame(&buffer) {
            context.fireChannelRead(wrapInboundOut(frame))
        }
        if !inSIPMessage, buffer.readableBytesView.starts(with: [0x0D, 0x0A]), buffer.readableBytes < 4 {
            buffer.moveReaderIndex(forwardBy: 2)
            context.fireChannelRead(wrapInboundOut(.pong))
        }
        return .needMoreData
    }

    /// The next frame at the front of `buffer`, or `nil` when more bytes are needed.
    public mutating func nextFrame(_ buffer: inout ByteBuffer) throws(SIPStreamFramingError) -> SIPStreamFrame? {
        while let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) {
            if inSIPMessage { return try nextSIP(&buffer) }
            switch first {
            case 0x00...0x03:
                return try nextSTUN(&buffer)
            case UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                switch nextKeepalive(&buffer) {
                case .frame(let frame): return frame
                case .needMoreData: return nil
                case .skippedNoise: continue
                }
            default:
                guard SIPParser.canStartMessage(first) else {
                    throw SIPStreamFramingError(
                        detail: "byte 0x\(String(first, radix: 16)) cannot start a SIP, STUN or keepalive frame")
                }
                return try nextSIP(&buffer)
            }
        }
        return nil
    }

    private mutating func nextSIP(_ buffer: inout ByteBuffer) throws(SIPStreamFramingError) -> SIPStreamFrame? {
        let unread = buffer  // shares the storage: copied only if the parser writes to it
        do {
            inSIPMessage = true
            guard let message = try parser.nextMessage(from: &buffer) else { return nil }
            inSIPMessage = false
            return .sip(message)
        } catch {
            throw SIPStreamFramingError(detail: error.detail, sipError: error, head: unread)
        }
    }

    private func nextSTUN(_ buffer: inout ByteBuffer) throws(SIPStreamFramingError) -> SIPStreamFrame? {
        guard buffer.readableBytes >= STUNMessage.headerSize else { return nil }
        guard let length = STUNMessage.frameLength(buffer.readableBytesView.prefix(STUNMessage.headerSize)) else {
            throw SIPStreamFramingError(detail: "bytes starting with 0x00–0x03 are not a STUN header (magic cookie or length)")
        }
        guard length <= maxSTUNSize else {
            throw SIPStreamFramingError(detail: "STUN message of \(length) bytes exceeds \(maxSTUNSize)")
        }
        guard let frame = buffer.readSlice(length: length) else { return nil }
        return .stun(frame)
    }

    private enum KeepaliveOutcome {
        case frame(SIPStreamFrame)
        case needMoreData
        case skippedNoise
    }

    private func nextKeepalive(_ buffer: inout ByteBuffer) -> KeepaliveOutcome {
        let view = buffer.readableBytesView
        guard view.first == UInt8(ascii: "\r") else {
            // A bare LF between messages is noise (RFC 3261 §7.5 tolerates stray line breaks).
            buffer.moveReaderIndex(forwardBy: 1)
            return .skippedNoise
        }
        guard view.count >= 2 else { return .needMoreData }
        guard view.dropFirst().first == UInt8(ascii: "\n") else {
            buffer.moveReaderIndex(forwardBy: 1)
            return .skippedNoise
        }
        switch role {
        case .client:
            buffer.moveReaderIndex(forwardBy: 2)
            return .frame(.pong)
        case .server:
            if view.starts(with: [0x0D, 0x0A, 0x0D, 0x0A]) {
                buffer.moveReaderIndex(forwardBy: 4)
                return .frame(.ping)
            }
            if view.count == 2 || (view.count == 3 && view.last == 0x0D) { return .needMoreData }
            buffer.moveReaderIndex(forwardBy: 2)
            return .frame(.pong)
        }
    }
}
