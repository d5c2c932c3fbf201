/// The STUN keepalive a core runs towards each registrar (SPEC B12) as a pure value: one Binding
/// request every interval on the registrar connection, at most one outstanding, and the
/// registrar declared unreachable when the answer is not back within the timeout or the
/// connection closed. Times are milliseconds on a clock the caller gives.
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
    /// Milliseconds between probes (30,000 by default in the settings).
    public var interval: Int64
    /// Milliseconds to wait for an answer (3,000 by default in the settings).
    public var timeout: Int64
    private var outstanding: (id: [UInt8], deadline: Int64)?
    private var nextProbeAt: Int64

    /// A monitor whose first probe is due at `now`.
    public init(interval: Int64, timeout: Int64, now: Int64) {
        self.interval = interval
        self.timeout = timeout
        self.nextProbeAt = now
    }

    /// When `poll` should run next.
    public var nextWakeUp: Int64 {
        outstanding.map { min($0.deadline, nextProbeAt) } ?? nextProbeAt
    }

    /// Declares a timeout that is due and sends a probe that is due; `newID` makes a fresh
    /// 12-byte transaction id.
    public mutating func poll(now: Int64, newID: () -> [UInt8]) -> [Action] {
        var actions: [Action] = []
        if let pending = outstanding, now >= pending.deadline {
            outstanding = nil
            actions += set(.down)
        }
        if outstanding == nil, now >= nextProbeAt {
            let id = newID()
            outstanding = (id, now + timeout)
            nextProbeAt = now + interval
            actions.append(.sendProbe(transactionID: id))
        }
        return actions
    }

    /// A Binding success arrived; one with another transaction id, or after the timeout, is ignored.
    public mutating func received(transactionID: [UInt8], now: Int64) -> [Action] {
        guard let pending = outstanding, pending.id == transactionID, now < pending.deadline else { return [] }
        outstanding = nil
        return set(.up)
    }

    /// The connection to the peer closed (or could not be opened): down at once, probe again
    /// at the next interval.
    public mutating func connectionLost(now: Int64) -> [Action] {
        outstanding = nil
        nextProbeAt = max(nextProbeAt, now)
        return set(.down)
    }

    /// Probes at once (after a settings change or on request).
    public mutating func probeSoon(now: Int64) {
        if outstanding == nil { nextProbeAt = now }
    }

    private mutating func set(_ new: Health) -> [Action] {
        guard new != health else { return [] }
        health = new
        return [.healthChanged(new)]
    }
}
