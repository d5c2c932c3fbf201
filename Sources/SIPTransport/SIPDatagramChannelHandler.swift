import NIOCore
import SIPCore

/// The handler of a UDP SIP socket: tells STUN, SIP and keepalives apart per datagram
/// (RFC 5626 §3.5.1) and reports them with the flow they came on.
final class SIPDatagramChannelHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let limits: SIPParser.Limits
    /// Set on a phones' socket: blocked sources are dropped, requests and garbage counted.
    private let intrusion: IntrusionProtection?
    private let report: @Sendable (SIPTransportEvent) -> Void
    /// Counts datagrams that are neither SIP, STUN nor a keepalive.
    private let metrics: TransportMetrics?
    private var localAddress: SocketAddress?

    init(limits: SIPParser.Limits, intrusion: IntrusionProtection?, metrics: TransportMetrics? = nil,
         report: @escaping @Sendable (SIPTransportEvent) -> Void) {
        self.limits = limits
        self.intrusion = intrusion
        self.metrics = metrics
        self.report = report
    }

    func channelActive(context: ChannelHandlerContext) {
        localAddress = context.channel.localAddress
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let local = localAddress ?? context.channel.localAddress else { return }
        let flow = Flow(transport: .udp, local: local, remote: envelope.remoteAddress, connectionID: 0)
        if let intrusion, intrusion.isBlocked(flow.remoteHost) { return }
        switch SIPDatagramKind(classifying: envelope.data) {
        case .stun:
            report(.stun(envelope.data, flow))
        case .sip:
            do {
                let message = try SIPParser.parseDatagram(envelope.data, limits: limits)
                if let intrusion, message.isRequest { intrusion.record(.sipRequestRate, from: flow.remoteHost) }
                report(.sip(message, flow))
            } catch {
                intrusion?.record(.sipMalformed, from: flow.remoteHost)
                report(.malformed(error, raw: envelope.data, flow))
            }
        case .garbage:
            intrusion?.record(.sipMalformed, from: flow.remoteHost)
            metrics?.parseError("garbage")
        case .keepalive:
            // RFC 3261 §18.3 / RFC 5626: nothing to answer on UDP.
            break
        }
    }
}
