import SIPCore

// RFC 3261 Figure 5 as updated by RFC 6026 Figure 3: INVITE client transaction.
//
//                               |INVITE from TU
//             Timer A fires     |INVITE sent      Timer B fires
//             Reset A,          V                 or Transport Err.
//             INVITE sent +-----------+           inform TU
//               +---------|           |--------------------------+
//               |         |  Calling  |                          |
//               +-------->|           |-----------+              |
//300-699                  +-----------+ 2xx       |              |
//ACK sent                    |  |       2xx to TU |              |
//resp. to TU                 |  |1xx              |              |
//+---------------------------+  |1xx to TU        |              |
//|                              |                 |              |
//|                1xx           V                 |              |
//|                1xx to TU +-----------+         |              |
//|                +---------|           |         |              |
//|                |         |Proceeding |         |              |
//|                +-------->|           |         |              |
//|                          +-----------+ 2xx     |              |
//|         300-699             |    |     2xx to TU              |
//|         ACK sent,  +--------+    +---------------+            |
//|         resp. to TU|                         |   |            |
//|                    |                         V   V            |
//|                    |                   +-----------+          |
//|                    |                   |           |          |
//|                    |                   | Accepted  |---+ 2xx  |
//|                    |                   |           |   | 2xx to TU
//|                    |                   +-----------+<--+      |
//|  +-----------+     |                        |                 |
//|  |           |<----+                        | Timer M fires   |
//+->| Completed |                              | -               |
//   |           |----+ 300-699                 V                 |
//   +-----------+    | ACK sent  NOTE:   +-----------+           |
//     ^    |         |                   |           |           |
//     |    |         |                   | Terminated|<----------+
//     +----|---------+                   |           |
//          | Timer D fires               +-----------+
//          | -                                 ^
//          +-----------------------------------+

/// The INVITE client transaction of RFC 3261 §17.1.1 with the Accepted state of RFC 6026, as a
/// value. It sends the ACK for a non-2xx final itself; the ACK for a 2xx belongs to the TU.
public struct InviteClientTransaction: Sendable {
    private enum State: Sendable, Equatable {
        case idle
        case calling
        case proceeding
        case accepted
        case completed
        case terminated
    }

    private var state = State.idle
    private let request: SIPMessage
    private let reliability: SIPTransportReliability
    private let timers: SIPTimerConfiguration
    private var retransmitInterval: Duration
    private var ack: SIPMessage?

    /// Creates the transaction for an INVITE.
    public init(request: SIPMessage, reliability: SIPTransportReliability, timers: SIPTimerConfiguration = .init()) {
        self.request = request
        self.reliability = reliability
        self.timers = timers
        self.retransmitInterval = timers.t1
    }

    /// Whether the transaction has ended.
    public var isTerminated: Bool { state == .terminated }

    /// Sends the INVITE.
    public mutating func start() -> [SIPTransactionAction] {
        guard state == .idle else { return [] }
        state = .calling
        var actions: [SIPTransactionAction] = [.send(request), .startTimer(.b, timers.transactionTimeout)]
        // RFC 3261 §17.1.1.2: Timer A only on unreliable transports.
        if reliability == .unreliable { actions.append(.startTimer(.a, retransmitInterval)) }
        return actions
    }

    /// A response matched to this transaction.
    public mutating func receive(response: SIPMessage) -> [SIPTransactionAction] {
        guard let status = response.statusLine?.statusCode else { return [] }
        switch state {
        case .calling, .proceeding:
            switch status {
            case 100...199:
                state = .proceeding
                return [.cancelTimer(.a), .deliver(response)]
            case 200...299:
                // RFC 6026 §7.2: Accepted, keep passing 2xx retransmissions up for Timer M.
                state = .accepted
                return [.cancelTimer(.a), .cancelTimer(.b), .deliver(response), .startTimer(.m, timers.transactionTimeout)]
            default:
                state = .completed
                let ack = Self.ack(for: request, response: response)
                self.ack = ack
                // RFC 3261 §17.1.1.2: Timer D is at least 32 s unreliable, zero reliable.
                let timerD = reliability == .unreliable ? timers.timerDUnreliable : .zero
                return [.cancelTimer(.a), .cancelTimer(.b), .send(ack), .deliver(response), .startTimer(.d, timerD)]
            }
        case .accepted:
            return (200...299).contains(status) ? [.deliver(response)] : []
        case .completed:
            // A retransmitted final: send the ACK again, do not pass it up.
            guard status >= 300, let ack else { return [] }
            return [.send(ack)]
        case .idle, .terminated:
            return []
        }
    }

    /// A timer this transaction started has fired.
    public mutating func timerFired(_ timer: SIPTransactionTimer) -> [SIPTransactionAction] {
        switch (state, timer) {
        case (.calling, .a):
            // RFC 3261 §17.1.1.2: double each time, no upper bound; Timer B ends it.
            retransmitInterval = retransmitInterval * 2
            return [.send(request), .startTimer(.a, retransmitInterval)]
        case (.calling, .b):
            state = .terminated
            return [.cancelTimer(.a), .reportTimeout, .terminate]
        case (.completed, .d), (.accepted, .m):
            state = .terminated
            return [.terminate]
        case (.idle, _), (.calling, _), (.proceeding, _), (.accepted, _), (.completed, _), (.terminated, _):
            return []
        }
    }

    /// The transport could not send.
    public mutating func transportFailed() -> [SIPTransactionAction] {
        switch state {
        case .calling, .proceeding:
            state = .terminated
            return [.cancelTimer(.a), .cancelTimer(.b), .reportTransportError, .terminate]
        case .completed:
            state = .terminated
            return [.terminate]
        case .idle, .accepted, .terminated:
            return []
        }
    }

    /// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): the INVITE's Request-URI,
    /// Call-ID, From, top Via and Route set, the response's To, and CSeq with method ACK.
    static func ack(for invite: SIPMessage, response: SIPMessage) -> SIPMessage {
        var headers = SIPHeaders()
        if let via = try? invite.headers.values(.via).first { headers.append(.via, via) }
        for route in invite.headers.lines(.route) { headers.append(.route, route) }
        headers.append(.maxForwards, "70")
        if let from = invite.headers[.from] { headers.append(.from, from) }
        if let to = response.headers[.to] { headers.append(.to, to) }
        if let callID = invite.callID { headers.append(.callID, callID) }
        if let cseq = try? invite.cseq() { headers.append(.cseq, "\(cseq.sequence) ACK") }
        headers.append(.contentLength, "0")
        return SIPMessage.request(method: "ACK", uri: invite.requestLine?.uri ?? "", headers: headers)
    }
}
