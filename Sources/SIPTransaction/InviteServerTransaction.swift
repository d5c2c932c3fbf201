import SIPCore

// RFC 3261 Figure 7 as updated by RFC 6026 Figure 5: INVITE server transaction.
//
//                               |INVITE
//                               |pass INV to TU
//            INVITE             V send 100 if TU won't in 200 ms
//            send response+------------+
//                +--------|            |--------+ 101-199 from TU
//                |        |            |        | send response
//                +------->|            |<-------+
//                         | Proceeding |
//                         |            |--------+ Transport Err.
//                         |            |        | Inform TU
//                         |            |<-------+
//                         +------------+
//            300-699 from TU |    |2xx from TU
//            send response   |    |send response
//             +--------------+    +------------+
//             |                                |
//INVITE       V          Timer G fires         |
//send response+-----------+ send response      |
//    +--------|           |--------+           |
//    |        |           |        |           |
//    +------->| Completed |<-------+      INVITE / -
//             |           |                  +-----+
//    +--------|           |----+             |     |
//    |        +-----------+    | ACK         |     v
//    |          |        ^     | -           +------------+
//    |          |        |     |             |            |---+ ACK
//    +----------+        |     |             |  Accepted  |   | to TU
//    Transport Err.      |     |             |            |<--+
//    Inform TU           |     V             |            |
//                        |  +-----------+    |            |---+ 2xx
//                        |  |           |    +------------+   | from TU
//                   Timer H |           |        |      ^     | send
//                   fires   | Confirmed |        |      +-----+ response
//                   -       |           |        |
//                        |  +-----------+        | Timer L fires
//                        |        |              | -
//                        |        |Timer I       |
//                        |        |fires         |
//                        |        V              |
//                        |  +------------+       |
//                        +->| Terminated |<------+
//                           +------------+

/// The INVITE server transaction of RFC 3261 §17.2.1 with the Accepted state of RFC 6026, as a
/// value. It answers with 100 Trying at once (the TU may still send its own provisionals).
public struct InviteServerTransaction: Sendable {
    private enum State: Sendable, Equatable {
        case idle
        case proceeding
        case accepted
        case completed
        case confirmed
        case terminated
    }

    private var state = State.idle
    private let reliability: SIPTransportReliability
    private let timers: SIPTimerConfiguration
    private var lastResponse: SIPMessage?
    private var retransmitInterval: Duration

    /// Creates the transaction.
    public init(reliability: SIPTransportReliability, timers: SIPTimerConfiguration = .init()) {
        self.reliability = reliability
        self.timers = timers
        self.retransmitInterval = timers.t1
    }

    /// Whether the transaction has ended.
    public var isTerminated: Bool { state == .terminated }

    /// An INVITE (first or retransmitted) or an ACK matched to this transaction.
    public mutating func receive(request: SIPMessage) -> [SIPTransactionAction] {
        let isACK = request.requestLine?.method == "ACK"
        switch state {
        case .idle:
            guard !isACK else { return [] }
            state = .proceeding
            // RFC 3261 §17.2.1: a 100 Trying so the client stops retransmitting.
            let trying = SIPResponseBuilder.response(to: request, statusCode: 100, reasonPhrase: "Trying")
            lastResponse = trying
            return [.send(trying), .deliver(request)]
        case .proceeding:
            guard !isACK, let lastResponse else { return [] }
            return [.send(lastResponse)]
        case .completed:
            if isACK {
                // RFC 3261 §17.2.1: Timer I is T4 unreliable, zero reliable.
                if reliability == .reliable {
                    state = .terminated
                    return [.cancelTimer(.g), .cancelTimer(.h), .terminate]
                }
                state = .confirmed
                return [.cancelTimer(.g), .cancelTimer(.h), .startTimer(.i, timers.t4)]
            }
            return lastResponse.map { [.send($0)] } ?? []
        case .accepted:
            // RFC 6026 §7.1: ACKs for the 2xx go to the TU; retransmitted INVITEs are absorbed.
            return isACK ? [.deliver(request)] : []
        case .confirmed, .terminated:
            return []
        }
    }

    /// The TU sends a response.
    public mutating func send(response: SIPMessage) -> [SIPTransactionAction] {
        guard let status = response.statusLine?.statusCode else { return [] }
        switch state {
        case .proceeding:
            lastResponse = response
            switch status {
            case 100...199:
                return [.send(response)]
            case 200...299:
                state = .accepted
                return [.send(response), .startTimer(.l, timers.transactionTimeout)]
            default:
                state = .completed
                var actions: [SIPTransactionAction] = [.send(response), .startTimer(.h, timers.transactionTimeout)]
                if reliability == .unreliable { actions.append(.startTimer(.g, retransmitInterval)) }
                return actions
            }
        case .accepted:
            // RFC 6026 §7.1: the TU retransmits its 2xx through the transaction.
            return (200...299).contains(status) ? [.send(response)] : []
        case .idle, .completed, .confirmed, .terminated:
            return []
        }
    }

    /// A timer this transaction started has fired.
    public mutating func timerFired(_ timer: SIPTransactionTimer) -> [SIPTransactionAction] {
        switch (state, timer) {
        case (.completed, .g):
            // RFC 3261 §17.2.1: double up to T2.
            retransmitInterval = min(retransmitInterval * 2, timers.t2)
            return lastResponse.map { [.send($0), .startTimer(.g, retransmitInterval)] } ?? []
        case (.completed, .h):
            state = .terminated
            return [.cancelTimer(.g), .reportTimeout, .terminate]
        case (.confirmed, .i), (.accepted, .l):
            state = .terminated
            return [.terminate]
        case (.idle, _), (.proceeding, _), (.accepted, _), (.completed, _), (.confirmed, _), (.terminated, _):
            return []
        }
    }

    /// The transport could not send a response.
    public mutating func transportFailed() -> [SIPTransactionAction] {
        switch state {
        case .proceeding, .completed:
            state = .terminated
            return [.cancelTimer(.g), .cancelTimer(.h), .reportTransportError, .terminate]
        case .idle, .accepted, .confirmed, .terminated:
            return []
        }
    }
}
