import Location

extension RegistrarStateMachine {
    /// Accounts read from the ``AccountStore`` kept for a short time, so a burst of REGISTERs
    /// does not read the same row again and again; changes made by `edgeway users` in another
    /// process show after at most `lifetime` milliseconds. Keyed by user name: the registrar
    /// serves one realm, its domain.
    struct AccountCache: Sendable {
        /// At most this many entries; past it the cache starts again empty.
        static let capacity = 100_000

        /// Milliseconds, on the wall clock the registrar's inputs carry.
        let lifetime: Int64
        private var entries: [String: (account: Account?, readAt: Int64)] = [:]

        init(lifetime: Int64) {
            self.lifetime = lifetime
        }

        /// The account when it was read less than `lifetime` ago: `.some(nil)` for a user the
        /// store did not have, `nil` when the store must be asked.
        func account(username: String, now: Int64) -> Account?? {
            guard let entry = entries[username], now - entry.readAt < lifetime else {
                return nil
            }
            return .some(entry.account)
        }

        /// Keeps what the store answered at `now`.
        mutating func store(_ account: Account?, username: String, now: Int64) {
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[username] = (account, now)
        }
    }
}
