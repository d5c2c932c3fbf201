import GRDB
import Location

/// An ``AccountStore`` in an SQLite file (GRDB): the registrar's accounts, managed with
/// `edgeway users add|list|remove`.
public final class SQLiteAccountStore: AccountStore {
    private let database: DatabaseQueue

    /// Opens (creating if needed) the store at `path`; `nil` keeps it in memory.
    public init(path: String?) throws {
        database = try SQLiteFile.open(path: path)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("accounts-v1") { db in
            try db.create(table: "account") { table in
                table.column("realm", .text).notNull()
                table.column("username", .text).notNull()
                table.column("ha1MD5", .text).notNull()
                table.column("ha1SHA256", .text).notNull()
                table.primaryKey(["realm", "username"])
            }
        }
        try migrator.migrate(database)
    }

    public func account(username: String, realm: String) async throws -> Account? {
        try await database.read { db in
            let select = try db.cachedStatement(sql: "SELECT * FROM account WHERE realm = ? AND username = ?")
            return try Row.fetchOne(select, arguments: [realm, username]).map(Self.account)
        }
    }

    public func save(_ account: Account) async throws {
        try await database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO account (realm, username, ha1MD5, ha1SHA256) VALUES (?, ?, ?, ?)",
                arguments: [account.realm, account.username, account.ha1MD5, account.ha1SHA256])
        }
    }

    public func remove(username: String, realm: String) async throws -> Bool {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM account WHERE realm = ? AND username = ?", arguments: [realm, username])
            return db.changesCount > 0
        }
    }

    public func all() async throws -> [Account] {
        try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM account ORDER BY realm, username").map(Self.account)
        }
    }

    private static func account(_ row: Row) -> Account {
        Account(username: row["username"], realm: row["realm"], ha1MD5: row["ha1MD5"], ha1SHA256: row["ha1SHA256"])
    }
}
