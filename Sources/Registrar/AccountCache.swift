import Location
import NIOConcurrencyHelpers

/// Keeps accounts read from an ``AccountStore`` for a short time, so a burst of REGISTERs does
/// not read the same row again and again; changes made by `edgeway users` in another process
/// show after at most `lifetime` milliseconds.
final class AccountCache: Sendable {
    private let store: any AccountStore
    private let lifetime: Int64
    private let clock: @Sendable () -> Int64
    private let entries = NIOLockedValueBox<[String: (account: Account?, readAt: Int64)]>([:])

    init(store: any AccountStore, lifetime: Int64, clock: @escaping @Sendable () -> Int64) {
        self.store = store
        self.lifetime = lifetime
        self.clock = clock
    }

    func account(username: String, realm: String) async throws -> Account? {
        if let cached = cachedAccount(username: username, realm: realm) { return cached }
        let key = Self.key(username: username, realm: realm)
        let now = clock()
        let account = try await store.account(username: username, realm: realm)
        entries.withLockedValue { entries in
            if entries.count > 100_000 { entries.removeAll(keepingCapacity: true) }
            entries[key] = (account, now)
        }
        return account
    }

    /// The account when it was read recently: `.some(nil)` for a user the store did not have,
    /// `nil` when the store must be asked.
    func cachedAccount(username: String, realm: String) -> Account?? {
        let key = Self.key(username: username, realm: realm)
        guard let entry = entries.withLockedValue({ $0[key] }), clock() - entry.readAt < lifetime else { return nil }
        return .some(entry.account)
    }

    private static func key(username: String, realm: String) -> String {
        "\(realm)\u{0}\(username)"
    }
}
