import Foundation
import HummingbirdBcrypt
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Settings

/// The web UI's logged-in sessions and its login throttle (SPEC B23, B28). A session ends when
/// unused for ``idleTimeout``, ``maxLifetime`` after its login, or at logout; each has its own
/// CSRF token, which every form carries. A source that began ``failureLimit`` logins within
/// ``failureWindow`` without succeeding gets 429 for ``lockout``; an attempt counts when it
/// begins, so attempts sent at once cannot outrun the count.
public final class WebSessions: Sendable {
    /// One admin logged in.
    public struct Session: Sendable, Equatable {
        /// The cookie's value: 32 random bytes, hex.
        public let id: String
        /// The admin's name.
        public let name: String
        /// The token every form of this session must send back (32 random bytes, hex).
        public let csrf: String
        /// The account's bcrypt hash at login: a new password (or a removed account) ends the session.
        let passwordHash: String
        let created: NIODeadline
        var lastSeen: NIODeadline
    }

    /// Logins begun from one source, without success, that start a lockout.
    public static let failureLimit = 5
    /// How far back begun logins count.
    public static let failureWindow = TimeAmount.minutes(5)
    /// How long a locked-out source gets 429.
    public static let lockout = TimeAmount.minutes(5)
    /// The longest a session lasts, however busy.
    public static let maxLifetime = TimeAmount.hours(12)
    /// Most sessions at once (the least recently used goes first), and most sources whose
    /// attempts are remembered (the oldest go first).
    public static let capacity = 1_000
    public static let sourceCapacity = 10_000

    /// A session unused this long ends.
    public let idleTimeout: TimeAmount
    private let clock: @Sendable () -> NIODeadline
    private let state = NIOLockedValueBox<State>(State())

    private struct State {
        var sessions: [String: Session] = [:]
        var attempts: [String: [NIODeadline]] = [:]
        var lockedUntil: [String: NIODeadline] = [:]
    }

    /// - Parameters:
    ///   - idleTimeout: how long an unused session lasts.
    ///   - clock: the monotonic clock (injected in tests).
    public init(idleTimeout: Duration, clock: @escaping @Sendable () -> NIODeadline = { .now() }) {
        self.idleTimeout = TimeAmount(idleTimeout)
        self.clock = clock
    }

    /// Starts a session for `name`, whose account's hash is `passwordHash`.
    public func create(name: String, passwordHash: String) -> Session {
        let now = clock()
        let session = Session(id: Self.token(), name: name, csrf: Self.token(), passwordHash: passwordHash, created: now, lastSeen: now)
        state.withLockedValue { state in
            state.sessions[session.id] = session
            if state.sessions.count > Self.capacity, let oldest = state.sessions.values.min(by: { $0.lastSeen < $1.lastSeen }) {
                state.sessions[oldest.id] = nil
            }
        }
        return session
    }

    /// The live session with this id, marked used now; `nil` when there is none, it idled out or
    /// it is older than ``maxLifetime``.
    public func session(_ id: String?) -> Session? {
        guard let id else { return nil }
        let now = clock()
        return state.withLockedValue { state in
            guard var session = state.sessions[id] else { return nil }
            guard now - session.lastSeen < idleTimeout, now - session.created < Self.maxLifetime else {
                state.sessions[id] = nil
                return nil
            }
            session.lastSeen = now
            state.sessions[id] = session
            return session
        }
    }

    /// Ends a session (logout, or its account changed).
    public func end(_ id: String) {
        _ = state.withLockedValue { $0.sessions.removeValue(forKey: id) }
    }

    /// Counts a login from `source` as it begins: `nil` to go on, else the seconds until the
    /// source may try again (it is locked out, or this attempt is one too many).
    public func begin(_ source: String) -> Int? {
        let now = clock()
        return state.withLockedValue { state in
            if let until = state.lockedUntil[source] {
                if until > now { return Int(((until - now).nanoseconds + 999_999_999) / 1_000_000_000) }
                state.lockedUntil[source] = nil
            }
            let recent = (state.attempts[source] ?? []).filter { now - $0 < Self.failureWindow }
            guard recent.count < Self.failureLimit else {
                state.attempts[source] = nil
                state.lockedUntil[source] = now + Self.lockout
                return Int(Self.lockout.nanoseconds / 1_000_000_000)
            }
            state.attempts[source] = recent + [now]
            if state.attempts.count + state.lockedUntil.count > Self.sourceCapacity { Self.prune(&state, now: now) }
            return nil
        }
    }

    /// Forgets `source`'s attempts after a successful login.
    public func succeeded(_ source: String) {
        _ = state.withLockedValue { $0.attempts.removeValue(forKey: source) }
    }

    /// Drops attempts outside the window and lockouts over; then, if still too many, the sources
    /// whose last attempt is oldest.
    private static func prune(_ state: inout State, now: NIODeadline) {
        state.lockedUntil = state.lockedUntil.filter { $0.value > now }
        state.attempts = state.attempts.compactMapValues { times in
            let recent = times.filter { now - $0 < failureWindow }
            return recent.isEmpty ? nil : recent
        }
        let excess = state.attempts.count + state.lockedUntil.count - sourceCapacity
        guard excess > 0 else { return }
        for source in state.attempts.sorted(by: { ($0.value.last ?? now) < ($1.value.last ?? now) }).prefix(excess).map(\.key) {
            state.attempts[source] = nil
        }
    }

    /// 32 random bytes from the system's generator, as hex.
    static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(UInt8.random(in: 0...255, using: &generator), radix: 16) }
            .map { $0.count == 1 ? "0" + $0 : $0 }.joined()
    }
}

/// Admin passwords: bcrypt (hummingbird-auth) at cost 12, worked out off the event loops.
public enum AdminPasswords {
    /// Bcrypt's and the account store's own threads: a burst of logins delays neither the event
    /// loops nor the blocking work others hand NIO's shared pool. Two threads: two logins at once.
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// The bcrypt hash of `password`, for ``AdminAccountStore``.
    public static func hash(_ password: String) async throws -> String {
        try await pool.runIfActive { Bcrypt.hash(password, cost: 12) }
    }

    /// Whether `password` matches `hash`; with no hash (no such admin) false after the same
    /// bcrypt work, so a name's existence does not show in the time taken.
    public static func verify(_ password: String, hash: String?) async throws -> Bool {
        try await pool.runIfActive {
            guard let hash else {
                _ = Bcrypt.hash(password, cost: 12)
                return false
            }
            return Bcrypt.verify(password, hash: hash)
        }
    }

    /// `name`'s hash in `store` (`nil`: no such admin, or not a valid name), read off the
    /// event loops and Swift's threads (the SQLite file may be locked by `edgeway admins` for a while).
    public static func hash(of name: String, in store: AdminAccountStore) async throws -> String? {
        guard AdminAccountStore.isValidName(name) else { return nil }
        return try await pool.runIfActive { try store.passwordHash(of: name) }
    }

    /// A new password: 20 characters from an alphabet without look-alikes (about 110 bits).
    public static func generate() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
