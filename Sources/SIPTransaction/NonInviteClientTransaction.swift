import SIPCore

// RFC 3261 Figure 6: non-INVITE client transaction.
//
//                    |Request from TU
//                    |send request
//Timer E             V
//send request  +-----------+
//    +---------|           |-------------------+
//    |         |  Trying   |  Timer F          |
//    +-------->|           |  or Transport Err.|
//              +-----------+  inform TU        |
// 200-699         |  |                         |
// resp. to TU     |  |1xx                      |
// +---------------+  |resp. to TU              |
// |                  |                         |
// |   Timer E        V       Timer F           |
// |   send req +-----------+ or Transport Err. |
// |  +---------|           | inform TU         |
// |  |         |Proceeding |------------------>|
// |  +-------->|           |-----+             |
// |            +-----------+     |1xx          |
// |              |      ^        |resp to TU   |
// | 200-699      |      +--------+             |
// | resp. to TU  |                             |
// |              V                             |
// |            +-----------+                   |
// |            |           |                   |
// |            | Completed |                   |
// |            |           |                   |
// |            +-----------+                   |
// |              ^   |                         |
// |              |   | Timer K                 |
// +--------------+   | -                       |
//                    |                         |
//                    V                         |
//              NOTE: +-----------+             |
//                    |           |             |
//                    |Terminated |<------------+
//                    |           |
//                    +-----------+

/// The non-INVITE client transaction of RFC 3261 §17.1.2, as a value: each input returns the
/// actions its owner performs.
public struct NonInviteClientTransaction: Sendable {
    private enum State: Sendable, Equatable {
        case idle
        case trying
        case proceeding
        case completed
        case terminated
    }

    private var state = State.idle
    private let request: SIPMessage
    private let reliability: SIPTransportReliability
    private let timers: SIPTimerConfiguration
    /// The current Timer E interval.
    private var retransmitInterval: Duration

    /// Creates the transaction for a request (not INVITE, not ACK).
    public init(request: SIPMessage, reliability: SIPTransportReliability, timers: SIPTimerConfiguration = .init()) {
        self.request = request
        self.reliability = reliability
        self.timers = timers
        self.retransmitInterval = timers.t1
    }

    /// Whether the transaction has ended.
    public var isTerminated: Bool { state == .terminated }

    /// Sends the request.
    public mutating func start() -> [SIPTransactionAction] {
        guard state == .idle else { return [] }
        state = .trying
        var actions: [SIPTransactionAction] = [.send(request), .startTimer(.f, timers.transactionTimeout)]
        // RFC 3261 §17.1.2.2: Timer E only on unreliable transports.
        if reliability == .unreliable { actions.append(.startTimer(.e, retransmitInterval)) }
        return actions
    }

    /// A response matched to this transaction (RFC 3261 §17.1.3).
    public mutating func receive(response: SIPMessage) -> [SIPTransactionAction] {
        guard let status = response.statusLine?.statusCode else { return [] }
        switch state {
        case .trying, .proceeding:
            if status < 200 {
                state = .proceeding
                return [.deliver(response)]
            }
            return complete(with: response)
        case .idle, .completed, .terminated:
            // RFC 3261 §17.1.2.2: retransmitted finals in Completed are absorbed.
            return []
        }
    }

    /// A timer this transaction started has fired.
    public mutating func timerFired(_ timer: SIPTransactionTimer) -> [SIPTransactionAction] {
        switch (state, timer) {
        case (.trying, .e):
            // RFC 3261 §17.1.2.2: double the interval up to T2.
            retransmitInterval = min(retransmitInterval * 2, timers.t2)
            return [.send(request), .startTimer(.e, retransmitInterval)]
        case (.proceeding, .e):
            retransmitInterval = timers.t2
            return [.send(request), .startTimer(.e, timers.t2)]
        case (.trying, .f), (.proceeding, .f):
            state = .terminated
            return [.cancelTimer(.e), .reportTimeout, .terminate]
        case (.completed, .k):
            state = .terminated
            return [.terminate]
        case (.idle, _), (.trying, _), (.proceeding, _), (.completed, _), (.terminated, _):
            return []
        }
    }

    /// The transport could not send the request (RFC 3261 §17.1.4).
    public mutating func transportFailed() -> [SIPTransactionAction] {
        switch state {
        case .trying, .proceeding:
            state = .terminated
            return [.cancelTimer(.e), .cancelTimer(.f), .reportTransportError, .terminate]
        case .idle, .completed, .terminated:
            return []
        }
    }

    private mutating func complete(with response: SIPMessage) -> [SIPTransactionAction] {
        var actions: [SIPTransactionAction] = [.cancelTimer(.e), .cancelTimer(.f), .deliver(response)]
        // RFC 3261 §17.1.2.2: Timer K is T4 on unreliable transports and zero on reliable ones.
        if reliability == .reliable {
            state = .terminated
            actions.append(.terminate)
        } else {
            state = .completed
            actions.append(.startTimer(.k, timers.t4))
        }
        return actions
    }
}
