import Location
import Logging
import PostgresNIO

/// A ``LocationStore`` in PostgreSQL that several registrars share (SPEC B35): a binding is one
/// row keyed by its address of record and its RFC 3261 §10.3 / RFC 5626 §6 identity
/// (``Binding/key``), so a phone re-registering through another registrar replaces its row.
///
/// An update runs in one transaction that first takes an advisory lock on the address of record:
/// two registrars applying REGISTERs of one phone at once take turns, and the second sees the
/// first's Call-ID and CSeq, so the RFC 3261 §10.3 step 7 ordering holds across the cluster and
/// only one of them can win. Only changed rows are written (one upsert per binding). Every call
/// fails with ``PostgresDatabaseError`` instead of waiting past the database's deadline.
public final class PostgresLocationStore: LocationStore {
    private let database: PostgresDatabase

    /// A store on `database` (run the database as a service first).
    public init(database: PostgresDatabase) {
        self.database = database
    }

    public func bindings(for aor: String) async throws -> [Binding] {
        try await database.withDeadline("reading the bindings of \(aor)") { [database] in
            try await database.client.withConnection { connection in
                try await Self.load(aor: aor, connection, database.logger).map(\.binding)
            }
        }
    }

    public func update<T: Sendable>(aor: String, _ body: @escaping @Sendable (inout [Binding]) throws -> T) async throws -> T {
        try await database.withDeadline("updating the bindings of \(aor)") { [database] in
            try await database.client.withTransaction(logger: database.logger) { connection in
                let logger = database.logger
                try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(aor), 0))", logger: logger)
                let stored = try await Self.load(aor: aor, connection, logger)
                var after = stored.map(\.binding)
                let result = try body(&after)
                let kept = Set(after.map(\.key))
                for row in stored where !kept.contains(row.binding.key) {
                    try await connection.query(
                        "DELETE FROM edgeway_binding WHERE aor = \(aor) AND binding_key = \(row.binding.key.columnValue)", logger: logger)
                }
                // A row is written when its binding or its place changed (a purge leaves gaps).
                let rows = Dictionary(stored.map { ($0.binding.key, $0) }, uniquingKeysWith: { first, _ in first })
                for (position, binding) in after.enumerated() where rows[binding.key].map({ $0.binding != binding || $0.position != position }) ?? true {
                    try await Self.upsert(binding, position: position, connection, logger)
                }
                // Past the deadline the caller has answered already: roll back rather than commit.
                try Task.checkCancellation()
                return result
            }
        }
    }

    /// Removes what lapsed; when another registrar of the cluster is purging at this moment, this
    /// one leaves it to that one and returns 0, so no two purges run at once and each lapsed
    /// binding is removed by exactly one registrar.
    public func purgeExpired(now: Int64) async throws -> Int {
        try await database.withDeadline("purging expired bindings") { [database] in
            try await database.client.withTransaction(logger: database.logger) { connection in
                let logger = database.logger
                let lock = try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.purgeLock))", logger: logger)
                guard try await lock.decode(Bool.self).first(where: { _ in true }) == true else { return 0 }
                let removed = try await connection.query("""
                    WITH removed AS (DELETE FROM edgeway_binding WHERE expires_at <= \(now) RETURNING 1)
                    SELECT count(*) FROM removed
                    """, logger: logger)
                return Int(try await removed.decode(Int64.self).first(where: { _ in true }) ?? 0)
            }
        }
    }

    public func count() async throws -> Int {
        try await database.withDeadline("counting bindings") { [database] in
            let rows = try await database.client.query("SELECT count(*) FROM edgeway_binding", logger: database.logger)
            return Int(try await rows.decode(Int64.self).first(where: { _ in true }) ?? 0)
        }
    }

    /// `pg_try_advisory_xact_lock` key of the purge.
    private static let purgeLock: Int64 = 0x6564_6765_7761_7902

    public func listBindings(limit: Int) async throws -> [Binding] {
        try await database.withDeadline("listing bindings") { [database] in
            let rows = try await database.client.query("""
                SELECT contact_uri, contact_value, instance_id, reg_id, call_id, cseq, expires_at, path, path_identity, position, aor
                FROM edgeway_binding ORDER BY aor, position LIMIT \(Int64(limit))
                """, logger: database.logger)
            return try await Self.bindings(rows).map(\.binding)
        }
    }

    /// The rows of `aor` in their order, each with its stored position.
    private static func load(aor: String, _ connection: PostgresConnection, _ logger: Logger) async throws -> [(binding: Binding, position: Int)] {
        try await bindings(connection.query("""
            SELECT contact_uri, contact_value, instance_id, reg_id, call_id, cseq, expires_at, path, path_identity, position, aor
            FROM edgeway_binding WHERE aor = \(aor) ORDER BY position
            """, logger: logger))
    }

    private static func bindings(_ rows: PostgresRowSequence) async throws -> [(binding: Binding, position: Int)] {
        var bindings: [(Binding, Int)] = []
        for try await (uri, value, instance, regID, callID, cseq, expiresAt, path, identity, position, aor)
            in rows.decode((String, String, String?, Int64?, String, Int64, Int64, String, String, Int32, String).self) {
            bindings.append((Binding(aor: aor, contactURI: uri, contactValue: value, instanceID: instance, regID: regID.map { Int($0) },
                                     callID: callID, cseq: UInt32(clamping: cseq), expiresAt: expiresAt,
                                     path: path.isEmpty ? [] : path.components(separatedBy: "\n"), pathIdentity: identity), Int(position)))
        }
        return bindings
    }

    /// Path values are header values, which never hold a line feed: one per line.
    private static func upsert(_ binding: Binding, position: Int, _ connection: PostgresConnection, _ logger: Logger) async throws {
        let path = binding.path.joined(separator: "\n")
        let regID = binding.regID.map { Int64($0) }
        try await connection.query("""
            INSERT INTO edgeway_binding (aor, binding_key, position, contact_uri, contact_value, instance_id, reg_id, call_id,
                                         cseq, expires_at, path, path_identity)
            VALUES (\(binding.aor), \(binding.key.columnValue), \(position), \(binding.contactURI), \(binding.contactValue),
                    \(binding.instanceID), \(regID), \(binding.callID), \(Int64(binding.cseq)), \(binding.expiresAt), \(path),
                    \(binding.pathIdentity))
            ON CONFLICT (aor, binding_key) DO UPDATE SET
                position = EXCLUDED.position, contact_uri = EXCLUDED.contact_uri, contact_value = EXCLUDED.contact_value,
                instance_id = EXCLUDED.instance_id, reg_id = EXCLUDED.reg_id, call_id = EXCLUDED.call_id, cseq = EXCLUDED.cseq,
                expires_at = EXCLUDED.expires_at, path = EXCLUDED.path, path_identity = EXCLUDED.path_identity
            """, logger: logger)
    }
}

extension BindingKey {
    /// The key as one text column: `instance <urn> reg-id <n>` or `contact <§19.1.4 form>`.
    var columnValue: String {
        if let instance { return "instance \(instance) reg-id \(regID.map(String.init) ?? "-")" }
        return "contact \(contactURI ?? "")"
    }
}
