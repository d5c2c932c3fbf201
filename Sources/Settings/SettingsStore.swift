import GRDB
import NIOConcurrencyHelpers

/// Where set values are kept, by lowercased path. Only values an operator set are stored;
/// everything else is the catalogue's default.
public protocol SettingsStore: Sendable {
    /// Every stored value, by lowercased path.
    func load() throws -> [String: String]
    /// Stores one value durably before returning.
    func save(path: String, value: String) throws
}

/// A ``SettingsStore`` in memory, for tests.
public final class InMemorySettingsStore: SettingsStore {
    private let values = NIOLockedValueBox<[String: String]>([:])

    /// An empty store.
    public init() {}

    public func load() -> [String: String] {
        values.withLockedValue { $0 }
    }

    public func save(path: String, value: String) {
        values.withLockedValue { $0[path] = value }
    }
}

/// A ``SettingsStore`` in an SQLite file (`settings.sqlite` in a node's data folder).
public final class SQLiteSettingsStore: SettingsStore {
    private let database: DatabaseQueue

    /// Opens (creating if needed) the store at `path`.
    public init(path: String) throws {
        database = try Self.open(path, migration: "settings-v1") { db in
            try db.create(table: "setting") { table in
                table.column("path", .text).primaryKey()
                table.column("value", .text).notNull()
            }
        }
    }

    /// Opens (creating if needed) an SQLite file of a node's data folder, waiting up to 5 s for
    /// another process's lock, with its one migration applied.
    static func open(_ path: String, migration: String, _ create: @escaping @Sendable (Database) throws -> Void) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let database = try DatabaseQueue(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration(migration, migrate: create)
        try migrator.migrate(database)
        return database
    }

    public func load() throws -> [String: String] {
        try database.read { db in
            Dictionary(try Row.fetchAll(db, sql: "SELECT path, value FROM setting").map { ($0[0], $0[1]) },
                       uniquingKeysWith: { _, last in last })
        }
    }

    public func save(path: String, value: String) throws {
        try database.write { db in
            try db.execute(sql: "INSERT INTO setting (path, value) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET value = excluded.value",
                           arguments: [path, value])
        }
    }
}
