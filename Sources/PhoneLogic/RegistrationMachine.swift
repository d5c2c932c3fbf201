/// A phone's registration with keepalive failover (SPEC B4, B8, B9, B13–B17) as a pure value:
/// events in, actions out, time from a clock the caller gives (milliseconds) and randomness from a
/// generator it gives. The runtime around it only opens connections and sends what it is told.
public struct RegistrationMachine: Sendable {
    /// Timers and limits; the defaults are the SPEC's.
    public struct Configuration: Sendable, Equatable {
        /// Milliseconds between STUN keepalives (B9). Default 30,000.
        public var keepaliveInterval: Int64 = 30_000
        /// Milliseconds to wait for a keepalive's answer (B9). Default 3,000.
        public var keepaliveTimeout: Int64 = 3_000
        /// Refresh this long before the registration expires (B8). Default 5,000.
        public var refreshMargin: Int64 = 5_000
        /// Milliseconds to wait for a REGISTER's final answer before the edge counts as failed.
        public var registerTimeout: Int64 = 10_000
        /// The backoff base and ceiling (B16, RFC 5626 §4.5). Defaults 30 s and 1,800 s.
        public var backoffBase: Int64 = 30_000
        public var backoffMax: Int64 = 1_800_000
        /// Expires asked for. Default 120.
        public var expires: Int = 120
        /// Milliseconds a call goes on once its signalling path is found dead (keepalive
        /// unanswered, connection closed) before the phone ends it, so that the failover deferred
        /// by the call runs (B17). Neither the far end's BYE nor this phone's can pass meanwhile.
        /// Default 32,000 (64·T1, RFC 3261 §17.1.2.2: the time a request on that path would take to
        /// fail).
        public var deadPathCallLimit: Int64 = 32_000

        /// The defaults.
        public init() {}
    }

    /// How the phone keeps its registered connection alive.
    public enum KeepaliveMode: Sendable, Equatable {
        /// STUN Binding every interval (the 200 OK accepted AR_SK).
        case stun
        /// CRLF pings every `interval` ms (RFC 5626 outbound: `Require: outbound`, Flow-Timer).
        case crlf(interval: Int64)
        /// None.
        case none
    }

    /// Why an edge counts as failed (B14).
    public enum FailureReason: Sendable, Equatable, CustomStringConvertible {
        case keepaliveTimeout, stunError, registerTimeout
        /// The connection closed, or could not be opened; with the transport's cause when it
        /// gave one (`certificate not trusted …`, `connection refused`).
        case connectionClosed(String?), connectFailed(String?)
        /// A failure answer of the edge's path, with its reason phrase when it had one.
        case registerRefused(Int, String?)

        public var description: String {
            switch self {
            case .keepaliveTimeout: "keepalive timeout"
            case .stunError: "STUN error response"
            case .connectionClosed(let cause): "connection closed" + (cause.map { ": \($0)" } ?? "")
            case .connectFailed(let cause): "connection failed" + (cause.map { ": \($0)" } ?? "")
            case .registerTimeout: "REGISTER timed out"
            case .registerRefused(let status, let reason): "REGISTER refused: \(status)\(reason.map { " \($0)" } ?? "")"
            }
        }
    }

    /// What the runtime must do, or may report.
    public enum Action: Sendable, Equatable {
        /// Open a new connection to this edge (then report `connected` or `connectFailed`).
        case connect(edge: String)
        /// Close the connection to this edge, without an un-REGISTER (B15).
        case close(edge: String)
        /// Send a REGISTER on the current connection; answer `challenge` (a WWW-Authenticate value) if given.
        case sendRegister(edge: String, cseq: Int, expires: Int, challenge: String?)
        /// Send a STUN Binding request with this transaction id on the current connection.
        case sendSTUN(transactionID: [UInt8])
        /// Send a CRLF keepalive ping.
        case sendPing
        /// End every call at once (a BYE or CANCEL may still be tried): their signalling path has
        /// been dead for ``Configuration/deadPathCallLimit``; ``callEnded(now:)`` then fails over.
        case endCalls(reason: String)
        /// Something worth showing.
        case report(Event)
    }

    /// The timeline (what `edgeway phone` prints).
    public enum Event: Sendable, Equatable {
        case registered(edge: String, arsk: Bool, keepalive: KeepaliveMode)
        case keepaliveAnswered(rtt: Int64)
        case edgeFailed(edge: String, reason: FailureReason)
        case failoverDeferred(edge: String, reason: FailureReason)
        case failoverStarted(from: String?, to: String)
        case backingOff(milliseconds: Int64, round: Int)
        /// The registrar refused the account or the request itself (403, 404, a challenge that
        /// keeps coming, another 4xx or a 6xx): no other edge would answer otherwise, so the phone
        /// stops trying — after the call, when one is up — until ``start(now:)`` is called again.
        case registrationRefused(status: Int)
    }

    private enum Phase: Sendable, Equatable {
        case idle
        case refused
        case connecting(edge: String)
        case registering(edge: String, deadline: Int64)
        case registered(edge: String, refreshAt: Int64)
        case backingOff(until: Int64)
    }

    /// The instance, reg-id, device name and Call-ID stay the same across failovers (B15).
    public let callID: String
    /// The last CSeq used.
    public private(set) var cseq = 0
    /// The edges, in the order to try them (a static list or SRV-ordered).
    public var candidates: [String]
    public let configuration: Configuration
    private var phase: Phase = .idle
    private var keepalive: KeepaliveMode = .none
    private var outstanding: (id: [UInt8], sentAt: Int64)?
    private var nextKeepaliveAt: Int64 = 0
    private var failedThisRound: Set<String> = []
    private var backoffRound = 0
    private var answeredSinceRegistered = false
    private var inCall = false
    private var deferred: FailureReason?
    /// Since when the path of a deferred failover is dead: the calls end at this plus the
    /// dead-path limit. `nil` once the path carried a REGISTER again (the failover still waits).
    private var deadSince: Int64?
    /// Why the path was last found dead, for the calls' end.
    private var deadCause: FailureReason?
    private var lastEdge: String?
    private var challengesAnswered = 0
    private var random: SplitMix64
    /// The expiry asked for: the configuration's, raised by a 423's Min-Expires (RFC 3261 §10.2.8).
    private var requestedExpires: Int
    private var intervalsTooBrief = 0
    /// A refusal that came during a call (its status): the phone stops when the call ends.
    private var refusedDuringCall: Int?
    /// Edges a 503 (or 429) with Retry-After asked not to try again before a time (RFC 3261 §21.5.4, RFC 3263 §4.3).
    private var notBefore: [String: Int64] = [:]

    /// A machine for a phone with this Call-ID trying `candidates` in order; `seed` drives the
    /// backoff's random waits.
    public init(callID: String, candidates: [String], configuration: Configuration = .init(), seed: UInt64 = .random(in: 0...UInt64.max)) {
        self.callID = callID
        self.candidates = candidates
        self.configuration = configuration
        self.random = SplitMix64(seed: seed)
        self.requestedExpires = configuration.expires
    }

    /// The edge registered through (or being tried), if any.
    public var currentEdge: String? {
        switch phase {
        case .connecting(let edge), .registering(let edge, _), .registered(let edge, _): edge
        case .idle, .refused, .backingOff: nil
        }
    }

    /// Whether the phone is registered.
    public var isRegistered: Bool {
        if case .registered = phase { return true }
        return false
    }

    /// The keepalive in use.
    public var keepaliveMode: KeepaliveMode { keepalive }

    /// The backoff round (B16): how many times every candidate failed in a row.
    public var failedRounds: Int { backoffRound }

    /// When ``poll(now:random:newID:)`` must run next (`nil`: only on an event).
    public var nextWakeUp: Int64? {
        switch phase {
        case .idle, .refused, .connecting: return nil
        case .registering(_, let deadline): return deadline
        case .backingOff(let until): return until
        case .registered(_, let refreshAt):
            var wake = refreshAt
            if let outstanding { wake = min(wake, outstanding.sentAt + configuration.keepaliveTimeout) }
            // While a failover waits for the calls, no keepalive goes; the calls' limit counts.
            if let deadSince, deferred != nil {
                wake = min(wake, deadSince + configuration.deadPathCallLimit)
            } else if keepalive != .none, outstanding == nil {
                wake = min(wake, nextKeepaliveAt)
            }
            return wake
        }
    }

    // MARK: - Events

    /// Starts registering through the first candidate: at first, or again after the registrar
    /// refused the registration (``Event/registrationRefused(status:)``).
    public mutating func start(now: Int64) -> [Action] {
        guard phase == .idle || phase == .refused else { return [] }
        phase = .idle
        failedThisRound = []
        return tryNextEdge(after: nil, now: now)
    }

    /// The connection the machine asked for is open.
    public mutating func connected(edge: String, now: Int64) -> [Action] {
        guard case .connecting(let wanted) = phase, wanted == edge else { return [] }
        phase = .registering(edge: edge, deadline: now + configuration.registerTimeout)
        challengesAnswered = 0
        return [register(edge: edge, challenge: nil)]
    }

    /// The connection could not be opened.
    public mutating func connectFailed(edge: String, now: Int64, cause: String? = nil) -> [Action] {
        guard case .connecting(let wanted) = phase, wanted == edge else { return [] }
        return fail(edge: edge, reason: .connectFailed(cause), now: now)
    }

    /// A final answer to the current REGISTER: `status`; from a 2xx the granted expiry (seconds),
    /// whether it accepted AR_SK, and the RFC 5626 outbound details; from a 401/407 the challenge
    /// the phone can answer; from a 423 its Min-Expires; from a 503 or 429 its Retry-After (seconds).
    ///
    /// Only a failure of the edge or its path fails the edge over (408, 480, 5xx): a 423 is
    /// retried at once with Min-Expires (RFC 3261 §10.2.8), a 503 with Retry-After moves to the
    /// next edge now and keeps this one until then (§21.5.4), and a refusal of the account or the
    /// request (403, 404, other 4xx, 6xx, a challenge answered twice) stops the phone (``Event/registrationRefused(status:)``).
    public mutating func registerAnswered(status: Int, challenge: String? = nil, expires: Int? = nil, arsk: Bool = false,
                                          outbound: Bool = false, flowTimer: Int? = nil, minExpires: Int? = nil,
                                          retryAfter: Int? = nil, reason: String? = nil, now: Int64) -> [Action] {
        let edge: String
        switch phase {
        case .registering(let registering, _): edge = registering
        case .registered(let registered, _): edge = registered
        default: return []
        }
        if status == 401 || status == 407, let challenge, challengesAnswered < 2 {
            // One answer to a challenge, and one more for a stale nonce; then the registrar refused us.
            challengesAnswered += 1
            return [register(edge: edge, challenge: challenge)]
        }
        challengesAnswered = 0
        if status == 423, let minExpires, minExpires > requestedExpires, intervalsTooBrief < 2 {
            intervalsTooBrief += 1
            requestedExpires = minExpires
            return [register(edge: edge, challenge: nil)]
        }
        intervalsTooBrief = 0
        guard (200..<300).contains(status) else {
            switch status {
            case 408, 429, 480, 500...599:
                if let retryAfter, status == 503 || status == 429 { notBefore[edge] = now + Int64(retryAfter) * 1_000 }
                return fail(edge: edge, reason: .registerRefused(status, reason), now: now)
            default:
                return refuse(edge: edge, status: status)
            }
        }
        let granted = Int64(expires ?? configuration.expires) * 1_000
        let wasRegistered = isRegistered
        deadSince = nil  // The path just carried a registration: it is not dead.
        phase = .registered(edge: edge, refreshAt: now + max(1_000, granted - configuration.refreshMargin))
        lastEdge = edge
        failedThisRound = []
        let mode: KeepaliveMode = arsk ? .stun : outbound ? .crlf(interval: Int64(flowTimer ?? 120) * 1_000 * 8 / 10) : .none
        if mode == .none { backoffRound = 0 }
        if mode != keepalive || !wasRegistered {
            keepalive = mode
            outstanding = nil
            nextKeepaliveAt = now + keepaliveInterval
            answeredSinceRegistered = false
            return [.report(.registered(edge: edge, arsk: arsk, keepalive: mode))]
        }
        return []
    }

    /// A STUN answer on the current connection: a success or an error response (B14).
    public mutating func stunAnswered(transactionID: [UInt8], success: Bool, now: Int64) -> [Action] {
        guard case .registered(let edge, _) = phase, let pending = outstanding, pending.id == transactionID,
              now < pending.sentAt + configuration.keepaliveTimeout
        else { return [] }
        outstanding = nil
        guard success else { return fail(edge: edge, reason: .stunError, now: now) }
        if !answeredSinceRegistered {
            answeredSinceRegistered = true
            backoffRound = 0
        }
        return [.report(.keepaliveAnswered(rtt: now - pending.sentAt))]
    }

    /// The current connection closed (B14).
    public mutating func connectionClosed(edge: String, now: Int64, cause: String? = nil) -> [Action] {
        guard currentEdge == edge else { return [] }
        return fail(edge: edge, reason: .connectionClosed(cause), now: now)
    }

    /// A call started: failovers wait until it ends (B17).
    public mutating func callStarted() {
        inCall = true
    }

    /// The call ended: a failover deferred during it is carried out now, even if the old edge
    /// has recovered since (B17).
    public mutating func callEnded(now: Int64) -> [Action] {
        inCall = false
        if refusedDuringCall != nil, let edge = currentEdge {
            refusedDuringCall = nil
            phase = .refused
            outstanding = nil
            keepalive = .none
            return [.close(edge: edge)]
        }
        guard let reason = deferred, let edge = currentEdge ?? lastEdge else { return [] }
        deferred = nil
        deadSince = nil
        return failover(from: edge, reason: reason, now: now)
    }

    /// Timers: keepalive due or timed out, refresh due, REGISTER timed out, backoff over.
    /// `newID` makes a 12-byte STUN transaction id.
    public mutating func poll(now: Int64, newID: () -> [UInt8]) -> [Action] {
        switch phase {
        case .idle, .refused, .connecting:
            return []
        case .registering(let edge, let deadline):
            return now >= deadline ? fail(edge: edge, reason: .registerTimeout, now: now) : []
        case .backingOff(let until):
            guard now >= until else { return [] }
            failedThisRound = []
            phase = .idle
            return tryNextEdge(after: nil, now: now)
        case .registered(let edge, let refreshAt):
            if inCall, let deadSince, now >= deadSince + configuration.deadPathCallLimit {
                self.deadSince = nil  // Said once; the calls' end brings the failover.
                let limit = configuration.deadPathCallLimit
                let said = limit % 1_000 == 0 ? "\(limit / 1_000) s" : "\(limit) ms"
                return [.endCalls(reason: "signalling path dead for \(said) (\(deadCause ?? .keepaliveTimeout))")]
            }
            if let pending = outstanding, now >= pending.sentAt + configuration.keepaliveTimeout {
                outstanding = nil
                return fail(edge: edge, reason: .keepaliveTimeout, now: now)
            }
            var actions: [Action] = []
            if now >= refreshAt {
                phase = .registered(edge: edge, refreshAt: now + configuration.registerTimeout)
                actions.append(register(edge: edge, challenge: nil))
            }
            // While a failover waits for a call, keepalives go on only once the path carried a
            // REGISTER again: they tell whether it dies once more.
            if outstanding == nil, deferred == nil || deadSince == nil, now >= nextKeepaliveAt {
                switch keepalive {
                case .stun:
                    let id = newID()
                    outstanding = (id, now)
                    actions.append(.sendSTUN(transactionID: id))
                case .crlf:
                    actions.append(.sendPing)
                case .none:
                    break
                }
                nextKeepaliveAt = now + keepaliveInterval
            }
            return actions
        }
    }

    // MARK: - Failover

    private var keepaliveInterval: Int64 {
        if case .crlf(let interval) = keepalive { return interval }
        return configuration.keepaliveInterval
    }

    private mutating func register(edge: String, challenge: String?) -> Action {
        cseq += 1
        return .sendRegister(edge: edge, cseq: cseq, expires: requestedExpires, challenge: challenge)
    }

    /// The registrar refused the account or the request: stop, closing the connection — after
    /// the call when one is up (B17: a refused refresh does not drop a call).
    private mutating func refuse(edge: String, status: Int) -> [Action] {
        if inCall, isRegistered {
            refusedDuringCall = status
            return [.report(.registrationRefused(status: status))]
        }
        phase = .refused
        outstanding = nil
        keepalive = .none
        return [.report(.registrationRefused(status: status)), .close(edge: edge)]
    }

    private mutating func fail(edge: String, reason: FailureReason, now: Int64) -> [Action] {
        if inCall, isRegistered {
            // B17: keep the call; fail over when it ends. Keepalives stop meanwhile.
            if deadSince == nil { deadSince = now }
            deadCause = reason
            guard deferred == nil else { return [] }
            deferred = reason
            outstanding = nil
            return [.report(.failoverDeferred(edge: edge, reason: reason))]
        }
        return failover(from: edge, reason: reason, now: now)
    }

    private mutating func failover(from edge: String, reason: FailureReason, now: Int64) -> [Action] {
        failedThisRound.insert(edge)
        outstanding = nil
        keepalive = .none
        var actions: [Action] = [.report(.edgeFailed(edge: edge, reason: reason)), .close(edge: edge)]
        phase = .idle
        actions += tryNextEdge(after: edge, now: now)
        return actions
    }

    /// The next candidate not failed this round nor held back by a Retry-After, or a backoff when
    /// there is none (B15, B16).
    private mutating func tryNextEdge(after failed: String?, now: Int64) -> [Action] {
        let start = failed.flatMap { candidates.firstIndex(of: $0) }.map { $0 + 1 } ?? 0
        let rotated = Array(candidates[min(start, candidates.count)...]) + Array(candidates[..<min(start, candidates.count)])
        guard let next = rotated.first(where: { !failedThisRound.contains($0) && notBefore[$0, default: now] <= now }) else {
            // W = min(max, base · 2^n); wait a random time in [W/2, W] (RFC 5626 §4.5), and at
            // least until the first edge a Retry-After held back may be tried.
            let window = min(configuration.backoffMax, configuration.backoffBase << min(backoffRound, 20))
            var wait = window / 2 + Int64(Double(window / 2) * random.nextUnit())
            if let earliest = candidates.compactMap({ notBefore[$0] }).min(), earliest > now, candidates.allSatisfy({ notBefore[$0] != nil }) {
                wait = max(wait, earliest - now)
            }
            backoffRound += 1
            phase = .backingOff(until: now + wait)
            return [.report(.backingOff(milliseconds: wait, round: backoffRound))]
        }
        phase = .connecting(edge: next)
        return [.report(.failoverStarted(from: failed, to: next)), .connect(edge: next)]
    }
}

/// A small seeded generator (SplitMix64), so a machine stays a pure value and a run (the lab's
/// chaos) can be repeated from its seed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<1.
    mutating func nextUnit() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}
