import Foundation
import GRDB
import Location

/// A ``LocationStore`` in an SQLite file (GRDB), the registrar's default: bindings survive a
/// restart (SPEC B7, B30). Each update runs in one write transaction.
public final class SQLiteLocationStore: LocationStore {
    private let database: DatabaseQueue

    /// Opens (creating if needed) the store at `path`; `nil` keeps it in memory.
    public init(path: String?) throws {
        database = try SQLiteFile.open(path: path)
        try Self.migrator.migrate(database)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("bindings-v1") { db in
            try db.create(table: "binding") { table in
                table.column("aor", .text).notNull()
                table.column("position", .integer).notNull()
                table.column("expiresAt", .integer).notNull()
                table.column("record", .blob).notNull()
                table.primaryKey(["aor", "position"])
            }
            try db.create(index: "binding_expiresAt", on: "binding", columns: ["expiresAt"])
        }
        return migrator
    }

    public func bindings(for aor: String) async throws -> [Binding] {
        try await database.read { db in try Self.load(aor: aor, db) }
    }

    public func update<T: Sendable>(aor: String, _ body: @Sendable (inout [Binding]) throws -> T) async throws -> T {
        try await database.write { db in
            var bindings = try Self.load(aor: aor, db)
            let result = try body(&bindings)
            try db.cachedStatement(sql: "DELETE FROM binding WHERE aor = ?").execute(arguments: [aor])
            let encoder = JSONEncoder()
            let insert = try db.cachedStatement(sql: "INSERT INTO binding (aor, position, expiresAt, record) VALUES (?, ?, ?, ?)")
            for (position, binding) in bindings.enumerated() {
                try insert.execute(arguments: [aor, position, binding.expiresAt, try encoder.encode(binding)])
            }
            return result
        }
    }

    public func purgeExpired(now: Int64) async throws -> Int {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM binding WHERE expiresAt <= ?", arguments: [now])
            return db.changesCount
        }
    }

    public func count() async throws -> Int {
        try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM binding") ?? 0 }
    }

    private static func load(aor: String, _ db: Database) throws -> [Binding] {
        let decoder = JSONDecoder()
        let select = try db.cachedStatement(sql: "SELECT record FROM binding WHERE aor = ? ORDER BY position")
        return try Data.fetchAll(select, arguments: [aor]).map { try decoder.decode(Binding.self, from: $0) }
    }
}
