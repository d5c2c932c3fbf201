import NIOCore

/// The STUN keepalive a core runs towards each registrar (SPEC B12) as a pure value: one Binding
/// request every interval on the registrar connection, at most one outstanding, and the
/// registrar declared unreachable when the answer is not back within the timeout or the
/// connection closed. Instants come from the caller's monotonic clock.
public struct KeepaliveMonitor: Sendable {
    /// What the monitor knows about the peer.
    public enum Health: Sendable, Equatable {
        /// No probe answered or failed yet.
        case unknown
        /// The last probe was answered in time.
        case up
        /// The last probe timed out, or the connection closed.
        case down
    }

    /// What the caller must do.
    public enum Action: Sendable, Equatable {
        /// Send a Binding request with this transaction id.
        case sendProbe(transactionID: [UInt8])
        /// The health changed to this value.
        case healthChanged(Health)
    }

    /// The current health.
    public private(set) var health: Health = .unknown
    /// Time between probes (30 s by default in the settings).
    public var interval: Duration
    /// Time to wait for an answer (3 s by default in the settings).
    public var timeout: Duration
    private var outstanding: (id: [UInt8], deadline: NIODeadline)?
    private var nextProbeAt: NIODeadline

    /// A monitor whose first probe is due at `now`.
    public init(interval: Duration, timeout: Duration, now: NIODeadline) {
        self.interval = interval
        self.timeout = timeout
        self.nextProbeAt = now
    }

    /// When `poll` should run next.
    public var nextWakeUp: NIODeadline {
        // While a probe is outstanding no other goes out: only its deadline matters.
        outstanding?.deadline ?? nextProbeAt
    }

    /// Declares a timeout that is due and sends a probe that is due; `newID` makes a fresh
    /// 12-byte transaction id.
    public mutating func poll(now: NIODeadline, newID: () -> [UInt8]) -> [Action] {
        var actions: [Action] = []
        if let pending = outstanding, now >= pending.deadline {
            outstanding = nil
            actions += set(.down)
        }
        if outstanding == nil, now >= nextProbeAt {
            let id = newID()
            outstanding = (id, now + TimeAmount(timeout))
            nextProbeAt = now + TimeAmount(interval)
            actions.append(.sendProbe(transactionID: id))
        }
        return actions
    }

    /// A Binding success arrived; one with another transaction id, or after the timeout, is ignored.
    public mutating func received(transactionID: [UInt8], now: NIODeadline) -> [Action] {
        guard let pending = outstanding, pending.id == transactionID, now < pending.deadline else { return [] }
        outstanding = nil
        return set(.up)
    }

    /// The connection to the peer closed (or could not be opened): down at once, probe again
    /// at the next interval.
    public mutating func connectionLost(now: NIODeadline) -> [Action] {
        outstanding = nil
        nextProbeAt = max(nextProbeAt, now)
        return set(.down)
    }

    /// The peer answered other traffic (a REGISTER the core forwarded): it is reachable, whatever
    /// the keepalive last said, and the next keepalive goes out at once to confirm the connection.
    public mutating func answeredOtherTraffic(now: NIODeadline) -> [Action] {
        probeSoon(now: now)
        return set(.up)
    }

    /// Probes at once (after a settings change or on request).
    public mutating func probeSoon(now: NIODeadline) {
        if outstanding == nil { nextProbeAt = now }
    }

    private mutating func set(_ new: Health) -> [Action] {
        guard new != health else { return [] }
        health = new
        return [.healthChanged(new)]
    }
}
