import SIPCore

// RFC 3261 Figure 8: non-INVITE server transaction.
//
//                         |Request received
//                         |pass to TU
//                         V
//                   +-----------+
//                   |           |
//                   | Trying    |-------------+
//                   |           |             |
//                   +-----------+             |200-699 from TU
//                         |                   |send response
//                         |1xx from TU        |
//                         |send response      |
//                         |                   |
//      Request            V      1xx from TU  |
//      send response+-----------+send response|
//          +--------|           |--------+    |
//          |        | Proceeding|        |    |
//          +------->|           |<-------+    |
//   +<--------------|           |             |
//   |Trnsprt Err    +-----------+             |
//   |Inform TU            |                   |
//   |                     |                   |
//   |                     |200-699 from TU    |
//   |                     |send response      |
//   |  Request            V                   |
//   |  send response+-----------+             |
//   |      +--------|           |             |
//   |      |        | Completed |<------------+
//   |      +------->|           |
//   +<--------------|           |
//   |Trnsprt Err    +-----------+
//   |Inform TU            |
//   |                     |Timer J fires
//   |                     |-
//   |                     |
//   |                     V
//   |               +-----------+
//   |               |           |
//   +-------------->| Terminated|
//                   |           |
//                   +-----------+

/// The non-INVITE server transaction of RFC 3261 §17.2.2, as a value.
public struct NonInviteServerTransaction: Sendable {
    private enum State: Sendable, Equatable {
        case idle
        case trying
        case proceeding
        case completed
        case terminated
    }

    private var state = State.idle
    private let reliability: SIPTransportReliability
    private let timers: SIPTimerConfiguration
    private var lastResponse: SIPMessage?

    /// Creates the transaction.
    public init(reliability: SIPTransportReliability, timers: SIPTimerConfiguration = .init()) {
        self.reliability = reliability
        self.timers = timers
    }

    /// Whether the transaction has ended.
    public var isTerminated: Bool { state == .terminated }

    /// A request matched to this transaction: the first one goes to the TU, retransmissions get
    /// the last response again (RFC 3261 §17.2.2).
    public mutating func receive(request: SIPMessage) -> [SIPTransactionAction] {
        switch state {
        case .idle:
            state = .trying
            return [.deliver(request)]
        case .trying:
            return []
        case .proceeding, .completed:
            return lastResponse.map { [.send($0)] } ?? []
        case .terminated:
            return []
        }
    }

    /// The TU sends a response.
    public mutating func send(response: SIPMessage) -> [SIPTransactionAction] {
        guard let status = response.statusLine?.statusCode else { return [] }
        switch state {
        case .trying, .proceeding:
            lastResponse = response
            if status < 200 {
                state = .proceeding
                return [.send(response)]
            }
            // RFC 3261 §17.2.2: Timer J is 64·T1 unreliable, zero reliable.
            if reliability == .reliable {
                state = .terminated
                return [.send(response), .terminate]
            }
            state = .completed
            return [.send(response), .startTimer(.j, timers.transactionTimeout)]
        case .idle, .completed, .terminated:
            return []
        }
    }

    /// A timer this transaction started has fired.
    public mutating func timerFired(_ timer: SIPTransactionTimer) -> [SIPTransactionAction] {
        guard state == .completed, timer == .j else { return [] }
        state = .terminated
        return [.terminate]
    }

    /// The transport could not send a response.
    public mutating func transportFailed() -> [SIPTransactionAction] {
        switch state {
        case .proceeding, .completed:
            state = .terminated
            return [.cancelTimer(.j), .reportTransportError, .terminate]
        case .idle, .trying, .terminated:
            return []
        }
    }
}
