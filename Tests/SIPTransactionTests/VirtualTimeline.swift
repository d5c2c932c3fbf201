import SIPCore
@testable import SIPTransaction

/// A transaction machine whose timers a test can fire.
protocol TimedTransaction {
    mutating func timerFired(_ timer: SIPTransactionTimer) -> [SIPTransactionAction]
}

extension NonInviteClientTransaction: TimedTransaction {}
extension InviteClientTransaction: TimedTransaction {}
extension NonInviteServerTransaction: TimedTransaction {}
extension InviteServerTransaction: TimedTransaction {}

/// Runs a transaction in virtual time: performs its timer actions, fires timers in order and
/// records what it sent and reported, with the virtual time of each.
struct VirtualTimeline<Machine: TimedTransaction> {
    var machine: Machine
    private(set) var now: Duration = .zero
    private(set) var timers: [SIPTransactionTimer: Duration] = [:]
    private(set) var sent: [(at: Duration, message: SIPMessage)] = []
    private(set) var delivered: [SIPMessage] = []
    private(set) var events: [String] = []
    private(set) var terminatedAt: Duration?

    init(_ machine: Machine) {
        self.machine = machine
    }

    /// Applies actions as the transaction's owner would.
    mutating func apply(_ actions: [SIPTransactionAction]) {
        for action in actions {
            switch action {
            case .send(let message): sent.append((now, message))
            case .startTimer(let timer, let after): timers[timer] = now + after
            case .cancelTimer(let timer): timers[timer] = nil
            case .deliver(let message): delivered.append(message)
            case .reportTimeout: events.append("timeout")
            case .reportTransportError: events.append("transport error")
            case .terminate:
                terminatedAt = now
                timers.removeAll()
            }
        }
    }

    /// Performs `input` on the machine and applies what it returns.
    mutating func perform(_ input: (inout Machine) -> [SIPTransactionAction]) {
        apply(input(&machine))
    }

    /// Fires timers in time order until none is left before `limit` or the transaction ends;
    /// bounded to 1,000 firings.
    mutating func run(until limit: Duration) {
        for _ in 0..<1_000 {
            guard terminatedAt == nil,
                  let (timer, at) = timers.min(by: { $0.value < $1.value || ($0.value == $1.value && "\($0.key)" < "\($1.key)") }),
                  at <= limit
            else { break }
            now = at
            timers[timer] = nil
            apply(machine.timerFired(timer))
        }
        if terminatedAt == nil { now = max(now, limit) }
    }

    /// Send times in seconds.
    var sendTimes: [Double] {
        sent.map { Double($0.at.components.seconds) + Double($0.at.components.attoseconds) / 1e18 }
    }
}

enum Messages {
    static func request(_ method: String, branch: String = "z9hG4bKtest1") -> SIPMessage {
        try! SIPParser.parse("""
            \(method) sip:bob@example.com SIP/2.0\r
            Via: SIP/2.0/UDP 192.0.2.10:5060;branch=\(branch)\r
            Route: <sip:proxy.example.com;lr>\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=a1\r
            To: <sip:bob@example.com>\r
            Call-ID: call-1@192.0.2.10\r
            CSeq: 7 \(method)\r
            Content-Length: 0\r
            \r

            """)
    }

    static func response(_ status: Int, to request: SIPMessage) -> SIPMessage {
        SIPResponseBuilder.response(to: request, statusCode: status, reasonPhrase: "Reason", toTag: "b2")
    }
}
