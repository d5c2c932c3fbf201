import GRDB

/// Opens the registrar's SQLite files the same way.
enum SQLiteFile {
    /// A database queue on `path` (in memory for `nil`) in WAL mode with `synchronous=NORMAL`: a
    /// committed transaction survives a crash or `kill -9` of the process without an fsync per
    /// transaction (only a power cut can lose the last ones). Busy waits up to 5 s.
    static func open(path: String?) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            if path != nil { try db.execute(sql: "PRAGMA journal_mode = WAL") }
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        return try path.map { try DatabaseQueue(path: $0, configuration: configuration) }
            ?? DatabaseQueue(configuration: configuration)
    }
}
