import GRDB

/// The web UI's admin accounts of a node (SPEC B23), in `DATA/admins.sqlite`: a name and a bcrypt
/// hash each (the hash is made and checked by AdminWeb; this store never sees a password).
public final class AdminAccountStore: Sendable {
    private let database: DatabaseQueue

    /// Opens (creating if needed) the store at `path`.
    ///
    /// - Throws: GRDB's error when the file cannot be opened or made.
    public init(path: String) throws {
        database = try SQLiteSettingsStore.open(path, migration: "admins-v1") { db in
            try db.create(table: "admin") { table in
                table.column("name", .text).primaryKey()
                table.column("passwordHash", .text).notNull()
            }
        }
    }

    /// Whether `name` is a valid account name: 1…64 letters, digits, `.`, `-` or `_`.
    public static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".-_".contains($0)) }
    }

    /// Adds `name` with `passwordHash`, or replaces its hash when `replacing`.
    ///
    /// - Throws: ``AdminAccountError`` when the name is invalid, or taken and not `replacing`.
    public func save(name: String, passwordHash: String, replacing: Bool) throws {
        guard Self.isValidName(name) else {
            throw AdminAccountError(description: "\(name) is not an admin name: use 1…64 letters, digits, '.', '-' or '_'")
        }
        try database.write { db in
            if !replacing, try Bool.fetchOne(db, sql: "SELECT 1 FROM admin WHERE name = ?", arguments: [name]) == true {
                throw AdminAccountError(description: "admin \(name) exists already (edgeway admins password \(name) changes its password)")
            }
            try db.execute(sql: "INSERT INTO admin (name, passwordHash) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET passwordHash = excluded.passwordHash",
                           arguments: [name, passwordHash])
        }
    }

    /// The bcrypt hash of `name`'s password, or `nil` when there is no such admin.
    public func passwordHash(of name: String) throws -> String? {
        try database.read { db in try String.fetchOne(db, sql: "SELECT passwordHash FROM admin WHERE name = ?", arguments: [name]) }
    }

    /// The admins' names, sorted.
    public func names() throws -> [String] {
        try database.read { db in try String.fetchAll(db, sql: "SELECT name FROM admin ORDER BY name") }
    }

    /// Removes `name`; false when there was no such admin.
    public func remove(name: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "DELETE FROM admin WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }
}

/// An admin account that cannot be saved; the text says why.
public struct AdminAccountError: Error, CustomStringConvertible {
    public var description: String
}
