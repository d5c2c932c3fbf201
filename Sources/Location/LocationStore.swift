import Synchronization

/// Where a registrar keeps bindings. Implementations: ``InMemoryLocationStore`` here, SQLite and
/// PostgreSQL in their own targets; one conformance suite runs against all of them.
public protocol LocationStore: Sendable {
    /// The bindings of an address of record (expired ones included until purged).
    func bindings(for aor: String) async throws -> [Binding]

    /// Reads the bindings of `aor`, lets `body` change them, and stores the result atomically:
    /// no other update of the same address of record interleaves.
    func update<T: Sendable>(aor: String, _ body: @escaping @Sendable (inout [Binding]) throws -> T) async throws -> T

    /// Removes bindings that lapsed at or before `now` (milliseconds since 1970) and returns how
    /// many were removed.
    func purgeExpired(now: Int64) async throws -> Int

    /// The number of bindings stored.
    func count() async throws -> Int

    /// Up to `limit` bindings of every address of record, by AOR and then in each AOR's order
    /// (expired ones included until purged), for `xstatus Registrations`.
    func listBindings(limit: Int) async throws -> [Binding]
}

/// A ``LocationStore`` whose updates never wait, so a registrar can apply a REGISTER on the event
/// loop that read it, without starting a task.
public protocol SynchronousLocationStore: LocationStore {
    /// ``LocationStore/update(aor:_:)``, done before returning.
    func updateNow<T: Sendable>(aor: String, _ body: @Sendable (inout [Binding]) throws -> T) throws -> T
}

/// A ``LocationStore`` in memory, for tests, single-process labs and load tests.
///
/// Its methods never suspend: a lock guards the table, so a registrar answering on an event
/// loop stays on that loop instead of hopping to an actor.
public final class InMemoryLocationStore: SynchronousLocationStore {
    private let byAOR = Mutex<[String: [Binding]]>([:])

    /// Creates an empty store.
    public init() {}

    public func bindings(for aor: String) -> [Binding] {
        byAOR.withLock { $0[aor] ?? [] }
    }

    public func update<T: Sendable>(aor: String, _ body: @escaping @Sendable (inout [Binding]) throws -> T) throws -> T {
        try updateNow(aor: aor, body)
    }

    public func updateNow<T: Sendable>(aor: String, _ body: @Sendable (inout [Binding]) throws -> T) throws -> T {
        try byAOR.withLock { table in
            var bindings = table[aor] ?? []
            let result = try body(&bindings)
            table[aor] = bindings.isEmpty ? nil : bindings
            return result
        }
    }

    public func purgeExpired(now: Int64) -> Int {
        byAOR.withLock { table in
            var removed = 0
            for (aor, bindings) in table {
                let live = bindings.filter { $0.expiresAt > now }
                removed += bindings.count - live.count
                table[aor] = live.isEmpty ? nil : live
            }
            return removed
        }
    }

    public func count() -> Int {
        byAOR.withLock { $0.values.reduce(0) { $0 + $1.count } }
    }

    public func listBindings(limit: Int) -> [Binding] {
        let table = byAOR.withLock { $0 }
        return Array(table.keys.sorted().lazy.flatMap { table[$0] ?? [] }.prefix(limit))
    }
}
