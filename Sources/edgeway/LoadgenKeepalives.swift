import EdgewayNode
import NIOConcurrencyHelpers
import NIOCore
import SIPStack
import SIPTransport
import STUNCore

/// `edgeway loadgen --keepalive SECONDS`: while the flows are held, each sends a STUN Binding
/// request (RFC 8489 §6.1, as a phone's keepalive on its registered flow, RFC 5626 §4.4.1) every
/// interval, the phones spread evenly over it; each answer's time goes to the `--metrics`
/// registry (`edgeway_keepalive_rtt_seconds`, the keepalive counters). A request unanswered
/// within 3 s is forgotten (counted sent, not answered).
final class LoadgenKeepalives: Sendable {
    /// Requests in flight by transaction id: whose, and when sent.
    private let pending = NIOLockedValueBox<[[UInt8]: (user: String, sent: ContinuousClock.Instant)]>([:])
    private let metrics: PhoneMetrics
    /// How long an answer may take.
    static let timeout = Duration.seconds(3)
    /// How often the next slice of phones sends.
    static let tick = Duration.milliseconds(100)

    init(metrics: PhoneMetrics) {
        self.metrics = metrics
    }

    /// A STUN message read on a flow: the time of the request it answers, when it answers one.
    func received(_ bytes: ByteBuffer) {
        guard let message = try? STUNMessage.decode(Array(bytes.readableBytesView)), message.type == .bindingSuccess,
              let request = pending.withLockedValue({ $0.removeValue(forKey: message.transactionID) }) else { return }
        let rtt = ContinuousClock.now - request.sent
        metrics.record(.registration(.keepaliveAnswered(rtt: rtt.components.seconds * 1_000 + rtt.components.attoseconds / 1_000_000_000_000_000)),
                       user: request.user)
    }

    /// Sends keepalives for `seconds`: every ``tick`` the phones whose turn it is, each once per
    /// `interval`; `user` names phone N, `flows` finds its flow.
    func run(seconds: Int, interval: Duration, phones: Int, user: @escaping @Sendable (Int) -> String, flows: LoadgenFlows,
             transport: SIPTransportLayer) async {
        let ticks = max(1, Int(interval / Self.tick))
        let end = ContinuousClock.now + .seconds(seconds)
        var tick = 0
        while ContinuousClock.now < end, !Task.isCancelled {
            let now = ContinuousClock.now
            pending.withLockedValue { $0 = $0.filter { now - $0.value.sent < Self.timeout } }
            for index in stride(from: tick % ticks, to: phones, by: ticks) {
                guard let flow = flows.flow(index) else { continue }
                let request = STUNMessage.bindingRequest()
                pending.withLockedValue { $0[request.transactionID] = (user(index), now) }
                if transport.write(ByteBuffer(bytes: request.encode()), on: flow) {
                    metrics.record(.keepaliveSent(edge: "\(flow.remote)"), user: user(index))
                } else {
                    _ = pending.withLockedValue { $0.removeValue(forKey: request.transactionID) }
                }
            }
            tick += 1
            try? await Task.sleep(until: now + Self.tick)
        }
    }
}
