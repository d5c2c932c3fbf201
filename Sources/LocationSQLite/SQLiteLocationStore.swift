import Foundation
import GRDB
import Location

/// A ``LocationStore`` in an SQLite file (GRDB), the registrar's default: bindings survive a
/// restart (SPEC B7, B30). Each update runs in one write transaction; a binding is one row with
/// a column per field.
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
        migrator.registerMigration("bindings-v2-columns") { db in
            // Columns instead of one JSON record: no encoding on the REGISTER path.
            try db.create(table: "contact") { table in
                table.column("aor", .text).notNull()
                table.column("position", .integer).notNull()
                table.column("contactURI", .text).notNull()
                table.column("contactValue", .text).notNull()
                table.column("instanceID", .text)
                table.column("regID", .integer)
                table.column("callID", .text).notNull()
                table.column("cseq", .integer).notNull()
                table.column("expiresAt", .integer).notNull()
                table.column("path", .text).notNull()
                table.column("pathIdentity", .text).notNull()
                table.primaryKey(["aor", "position"])
            }
            try db.create(index: "contact_expiresAt", on: "contact", columns: ["expiresAt"])
            let decoder = JSONDecoder()
            for row in try Row.fetchAll(db, sql: "SELECT aor, position, record FROM binding") {
                let binding = try decoder.decode(Binding.self, from: row["record"] as Data)
                try insert(binding, position: row["position"], db)
            }
            try db.drop(table: "binding")
        }
        return migrator
    }

    public func bindings(for aor: String) async throws -> [Binding] {
        try await database.read { db in try Self.load(aor: aor, db) }
    }

    public func update<T: Sendable>(aor: String, _ body: @escaping @Sendable (inout [Binding]) throws -> T) async throws -> T {
        try await database.write { db in
            let before = try Self.load(aor: aor, db)
            var bindings = before
            let result = try body(&bindings)
            guard bindings != before else { return result }
            try db.cachedStatement(sql: "DELETE FROM contact WHERE aor = ?").execute(arguments: [aor])
            for (position, binding) in bindings.enumerated() {
                try Self.insert(binding, position: position, db)
            }
            return result
        }
    }

    public func purgeExpired(now: Int64) async throws -> Int {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM contact WHERE expiresAt <= ?", arguments: [now])
            return db.changesCount
        }
    }

    public func count() async throws -> Int {
        try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contact") ?? 0 }
    }

    public func listBindings(limit: Int) async throws -> [Binding] {
        try await database.read { db in
            let select = try db.cachedStatement(sql: """
                SELECT contactURI, contactValue, instanceID, regID, callID, cseq, expiresAt, path, pathIdentity, aor
                FROM contact ORDER BY aor, position LIMIT ?
                """)
            return try Row.fetchAll(select, arguments: [limit]).map { row in Self.binding(row, aor: row[9]) }
        }
    }

    private static func load(aor: String, _ db: Database) throws -> [Binding] {
        let select = try db.cachedStatement(sql: """
            SELECT contactURI, contactValue, instanceID, regID, callID, cseq, expiresAt, path, pathIdentity
            FROM contact WHERE aor = ? ORDER BY position
            """)
        return try Row.fetchAll(select, arguments: [aor]).map { row in binding(row, aor: aor) }
    }

    private static func binding(_ row: Row, aor: String) -> Binding {
        let path: String = row[7]
        return Binding(aor: aor, contactURI: row[0], contactValue: row[1], instanceID: row[2], regID: row[3],
                       callID: row[4], cseq: row[5], expiresAt: row[6],
                       path: path.isEmpty ? [] : path.components(separatedBy: "\n"), pathIdentity: row[8])
    }

    /// Path values are header values, which never hold a line feed: one per line.
    private static func insert(_ binding: Binding, position: Int, _ db: Database) throws {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO contact (aor, position, contactURI, contactValue, instanceID, regID, callID, cseq, expiresAt,
                                 path, pathIdentity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        try insert.execute(arguments: [binding.aor, position, binding.contactURI, binding.contactValue, binding.instanceID,
                                       binding.regID, binding.callID, binding.cseq, binding.expiresAt,
                                       binding.path.joined(separator: "\n"), binding.pathIdentity])
    }
}
