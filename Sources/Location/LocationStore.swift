/// Where a registrar keeps bindings. Implementations: ``InMemoryLocationStore`` here, SQLite and
/// PostgreSQL in their own targets; one conformance suite runs against all of them.
public protocol LocationStore: Sendable {
    /// The bindings of an address of record (expired ones included until purged).
    func bindings(for aor: String) async throws -> [Binding]

    /// Reads the bindings of `aor`, lets `body` change them, and stores the result atomically:
    /// no other update of the same address of record interleaves.
    func update<T: Sendable>(aor: String, _ body: @Sendable (inout [Binding]) throws -> T) async throws -> T

    /// Removes bindings that lapsed at or before `now` (milliseconds since 1970) and returns how
    /// many were removed.
    func purgeExpired(now: Int64) async throws -> Int

    /// The number of bindings stored.
    func count() async throws -> Int
}

/// A ``LocationStore`` in memory, for tests and single-process labs.
public actor InMemoryLocationStore: LocationStore {
    private var byAOR: [String: [Binding]] = [:]

    /// Creates an empty store.
    public init() {}

    public func bindings(for aor: String) -> [Binding] {
        byAOR[aor] ?? []
    }

    public func update<T: Sendable>(aor: String, _ body: @Sendable (inout [Binding]) throws -> T) throws -> T {
        var bindings = byAOR[aor] ?? []
        let result = try body(&bindings)
        byAOR[aor] = bindings.isEmpty ? nil : bindings
        return result
    }

    public func purgeExpired(now: Int64) -> Int {
        var removed = 0
        for (aor, bindings) in byAOR {
            let live = bindings.filter { $0.expiresAt > now }
            removed += bindings.count - live.count
            byAOR[aor] = live.isEmpty ? nil : live
        }
        return removed
    }

    public func count() -> Int {
        byAOR.values.reduce(0) { $0 + $1.count }
    }
}
