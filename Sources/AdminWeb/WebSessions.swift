import Foundation
import HummingbirdBcrypt
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The web UI's logged-in sessions and its login throttle (SPEC B23, B28). A session ends when
/// unused for ``idleTimeout`` or at logout; each has its own CSRF token, which every form carries.
/// A source with ``failureLimit`` failed logins within ``failureWindow`` gets 429 for ``lockout``.
public final class WebSessions: Sendable {
    /// One admin logged in.
    public struct Session: Sendable, Equatable {
        /// The cookie's value: 32 random bytes, hex.
        public let id: String
        /// The admin's name.
        public let name: String
        /// The token every form of this session must send back (32 random bytes, hex).
        public let csrf: String
        var lastSeen: NIODeadline
    }

    /// Failed logins from one source that start a lockout.
    public static let failureLimit = 5
    /// How far back failed logins count.
    public static let failureWindow = TimeAmount.minutes(5)
    /// How long a locked-out source gets 429.
    public static let lockout = TimeAmount.minutes(5)
    /// Most sessions at once; the least recently used goes first.
    public static let capacity = 1_000

    /// A session unused this long ends.
    public let idleTimeout: TimeAmount
    private let clock: @Sendable () -> NIODeadline
    private let state = NIOLockedValueBox<State>(State())

    private struct State {
        var sessions: [String: Session] = [:]
        var failures: [String: [NIODeadline]] = [:]
        var lockedUntil: [String: NIODeadline] = [:]
    }

    /// - Parameters:
    ///   - idleTimeout: how long an unused session lasts.
    ///   - clock: the monotonic clock (injected in tests).
    public init(idleTimeout: Duration, clock: @escaping @Sendable () -> NIODeadline = { .now() }) {
        self.idleTimeout = TimeAmount(idleTimeout)
        self.clock = clock
    }

    /// Starts a session for `name`.
    public func create(name: String) -> Session {
        let session = Session(id: Self.token(), name: name, csrf: Self.token(), lastSeen: clock())
        state.withLockedValue { state in
            state.sessions[session.id] = session
            if state.sessions.count > Self.capacity, let oldest = state.sessions.values.min(by: { $0.lastSeen < $1.lastSeen }) {
                state.sessions[oldest.id] = nil
            }
        }
        return session
    }

    /// The live session with this id, marked used now; `nil` when there is none or it idled out.
    public func session(_ id: String?) -> Session? {
        guard let id else { return nil }
        let now = clock()
        return state.withLockedValue { state in
            guard var session = state.sessions[id] else { return nil }
            guard now - session.lastSeen < idleTimeout else {
                state.sessions[id] = nil
                return nil
            }
            session.lastSeen = now
            state.sessions[id] = session
            return session
        }
    }

    /// Ends a session (logout).
    public func end(_ id: String) {
        _ = state.withLockedValue { $0.sessions.removeValue(forKey: id) }
    }

    /// Seconds until `source` may try to log in again, or `nil` when it may now.
    public func retryAfter(_ source: String) -> Int? {
        let now = clock()
        return state.withLockedValue { state in
            guard let until = state.lockedUntil[source] else { return nil }
            guard until > now else {
                state.lockedUntil[source] = nil
                return nil
            }
            return Int((until - now).nanoseconds / 1_000_000_000) + 1
        }
    }

    /// Counts a failed login from `source`; true when it starts a lockout.
    public func failed(_ source: String) -> Bool {
        let now = clock()
        return state.withLockedValue { state in
            let recent = (state.failures[source] ?? []).filter { now - $0 < Self.failureWindow } + [now]
            guard recent.count >= Self.failureLimit else {
                state.failures[source] = recent
                return false
            }
            state.failures[source] = nil
            state.lockedUntil[source] = now + Self.lockout
            return true
        }
    }

    /// Forgets `source`'s failed logins after a successful one.
    public func succeeded(_ source: String) {
        _ = state.withLockedValue { $0.failures.removeValue(forKey: source) }
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
    /// The bcrypt hash of `password`, for ``AdminAccountStore``.
    public static func hash(_ password: String) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: 12) }
    }

    /// Whether `password` matches `hash`; with no hash (no such admin) false after the same
    /// bcrypt work, so a name's existence does not show in the time taken.
    public static func verify(_ password: String, hash: String?) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive {
            guard let hash else {
                _ = Bcrypt.hash(password, cost: 12)
                return false
            }
            return Bcrypt.verify(password, hash: hash)
        }
    }

    /// A new password: 20 characters from an alphabet without look-alikes (about 110 bits).
    public static func generate() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
