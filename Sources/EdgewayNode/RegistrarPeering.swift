import NIOCore
import SIPCore
import SIPStack
import SIPTransport

/// The core's OPTIONS to each registrar that tells it who the core is and hears who the
/// registrar is (``ClusterPeers``, `X-Edgeway-Peer`), so a diagnostic log reaches registrars.
/// Sent every `interval` on the connection the keepalives use (TCP), once the admin API runs.
final class RegistrarPeering: Sendable {
    private let task: RepeatedTask

    init(stack: SIPStack, registrars: [SocketAddress], every interval: Duration) {
        task = stack.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: TimeAmount(interval)) { _ in
            guard stack.peers.local != nil else { return }
            for address in registrars {
                Task { try? await Self.tell(address, stack: stack) }
            }
        }
    }

    func stop() {
        task.cancel()
    }

    private static func tell(_ address: SocketAddress, stack: SIPStack) async throws {
        let flow = try await stack.transport.connect(.tcp, to: address)
        let token = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        var message = SIPMessage.request(method: "OPTIONS", uri: "sip:\(ProxyForwarder.hostPort(address))")
        message.headers.append(.via, "SIP/2.0/TCP \(ProxyForwarder.hostPort(flow.local));branch=z9hG4bK-peer-\(token);rport")
        message.headers.append(.maxForwards, "0")
        message.headers.append(.from, "<sip:\(stack.peers.local?.name ?? "core")@peer.invalid>;tag=\(token)")
        message.headers.append(.to, "<sip:registrar@peer.invalid>")
        message.headers.append(.callID, "peer-\(token)")
        message.headers.append(.cseq, "1 OPTIONS")
        stack.peers.stamp(&message)
        message.headers.append(.contentLength, "0")
        stack.peers.record(try await stack.send(request: message, on: flow))
    }
}
