import NIOCore
import SIPCore

/// The handler of a UDP SIP socket: tells STUN, SIP and keepalives apart per datagram
/// (RFC 5626 §3.5.1) and reports them with the flow they came on.
final class SIPDatagramChannelHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let limits: SIPParser.Limits
    private let report: @Sendable (SIPTransportEvent) -> Void
    private var localAddress: SocketAddress?

    init(limits: SIPParser.Limits, report: @escaping @Sendable (SIPTransportEvent) -> Void) {
        self.limits = limits
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
        switch SIPDatagramKind(classifying: envelope.data) {
        case .stun:
            report(.stun(envelope.data, flow))
        case .sip:
            do {
                report(.sip(try SIPParser.parseDatagram(envelope.data, limits: limits), flow))
            } catch {
                report(.malformed(error, raw: envelope.data, flow))
            }
        case .keepalive, .garbage:
            // RFC 3261 §18.3 / RFC 5626: nothing to answer on UDP.
            break
        }
    }
}
