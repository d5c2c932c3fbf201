import NIOCore
import SIPCore

/// The last handler of a TCP or TLS SIP connection: answers pings with a pong (RFC 5626 §3.5.1),
/// reports frames as ``SIPTransportEvent``s, closes the connection on a framing error or when it
/// has been idle too long.
final class SIPStreamChannelHandler: ChannelInboundHandler {
    typealias InboundIn = SIPStreamFrame
    typealias OutboundOut = ByteBuffer

    private let transport: SIPTransportKind
    private let connectionID: UInt64
    private let report: @Sendable (SIPTransportEvent) -> Void
    /// Set on connections accepted for phones: requests and framing errors are counted.
    private let intrusion: IntrusionProtection?
    private let closed: @Sendable (Flow) -> Void
    /// Counts framing errors by code and the 400 answered to them.
    private let metrics: TransportMetrics?
    private var flow: Flow?
    private var closeReason = "closed by peer"

    init(transport: SIPTransportKind, connectionID: UInt64, intrusion: IntrusionProtection?, metrics: TransportMetrics? = nil,
         report: @escaping @Sendable (SIPTransportEvent) -> Void, closed: @escaping @Sendable (Flow) -> Void) {
        self.transport = transport
        self.connectionID = connectionID
        self.intrusion = intrusion
        self.metrics = metrics
        self.report = report
        self.closed = closed
    }

    func channelActive(context: ChannelHandlerContext) {
        if let local = context.channel.localAddress, let remote = context.channel.remoteAddress {
            let flow = Flow(transport: transport, local: local, remote: remote, connectionID: connectionID)
            self.flow = flow
            report(.flowOpened(flow))
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let flow else { return }
        switch unwrapInboundIn(data) {
        case .sip(let message):
            if let intrusion, message.isRequest { intrusion.record(.sipRequestRate, from: flow.remoteHost) }
            report(.sip(message, flow))
        case .stun(let bytes): report(.stun(bytes, flow))
        case .ping:
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "\r\n")), promise: nil)
            report(.ping(flow))
        case .pong: report(.pong(flow))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        closeReason = SIPTLS.describe(error)
        if let framing = error as? SIPStreamFramingError { metrics?.parseError(framing.sipError.map { "\($0.code)" } ?? "framing") }
        if let intrusion, error is SIPStreamFramingError, let flow { intrusion.record(.sipMalformed, from: flow.remoteHost) }
        // RFC 3261 §18.3: a request that cannot be framed still gets its 400 when it can be read
        // far enough to answer; then the stream, out of step, is closed.
        if let answer = (error as? SIPStreamFramingError)?.answer {
            metrics?.sent(answer)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(answer)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ConnectionIdleEvent {
            closeReason = "idle timeout"
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let flow {
            closed(flow)
            report(.flowClosed(flow, reason: closeReason))
        }
        context.fireChannelInactive()
    }
}
