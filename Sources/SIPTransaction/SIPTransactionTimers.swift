/// The timers of RFC 3261 §17 and RFC 6026, named as the RFC names them.
public enum SIPTransactionTimer: Hashable, Sendable, CustomStringConvertible {
    /// INVITE client: request retransmission (unreliable transports).
    case a
    /// INVITE client: transaction timeout.
    case b
    /// INVITE client: wait for response retransmissions after a non-2xx final.
    case d
    /// Non-INVITE client: request retransmission (unreliable transports).
    case e
    /// Non-INVITE client: transaction timeout.
    case f
    /// INVITE server: final response retransmission (unreliable transports).
    case g
    /// INVITE server: wait for ACK.
    case h
    /// INVITE server: wait for ACK retransmissions.
    case i
    /// Non-INVITE server: wait for request retransmissions.
    case j
    /// Non-INVITE client: wait for response retransmissions.
    case k
    /// INVITE server, RFC 6026: wait in Accepted for retransmitted INVITEs and ACKs.
    case l
    /// INVITE client, RFC 6026: wait in Accepted for retransmitted 2xx responses.
    case m

    public var description: String {
        switch self {
        case .a: "Timer A"
        case .b: "Timer B"
        case .d: "Timer D"
        case .e: "Timer E"
        case .f: "Timer F"
        case .g: "Timer G"
        case .h: "Timer H"
        case .i: "Timer I"
        case .j: "Timer J"
        case .k: "Timer K"
        case .l: "Timer L"
        case .m: "Timer M"
        }
    }
}

/// The base timer values of RFC 3261 §17.1.1.1 and Table 4. Every value is configurable; tests use
/// short ones.
public struct SIPTimerConfiguration: Hashable, Sendable {
    /// RTT estimate. Default 500 ms.
    public var t1: Duration
    /// Longest retransmit interval for non-INVITE requests and INVITE responses. Default 4 s.
    public var t2: Duration
    /// Longest time a message stays in the network. Default 5 s.
    public var t4: Duration
    /// Timer D on unreliable transports. Default 32 s (RFC 3261 says at least 32 s).
    public var timerDUnreliable: Duration

    /// Creates a configuration; every parameter has the RFC's default.
    public init(t1: Duration = .milliseconds(500), t2: Duration = .seconds(4), t4: Duration = .seconds(5),
                timerDUnreliable: Duration = .seconds(32)) {
        self.t1 = t1
        self.t2 = t2
        self.t4 = t4
        self.timerDUnreliable = timerDUnreliable
    }

    /// 64·T1: timers B, F, H, J (unreliable), L and M.
    public var transactionTimeout: Duration { t1 * 64 }
}

/// Whether the transport retransmits by itself (TCP, TLS) or not (UDP). Retransmission timers run
/// only on unreliable transports, and the "wait" timers are zero on reliable ones.
public enum SIPTransportReliability: Hashable, Sendable {
    case reliable
    case unreliable
}
