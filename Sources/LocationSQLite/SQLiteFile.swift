import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// Opens the registrar's SQLite files the same way.
enum SQLiteFile {
    /// A database queue on `path` (in memory for `nil`) in WAL mode with `synchronous=NORMAL`: a
    /// committed transaction survives a crash or `kill -9` of the process without an fsync per
    /// transaction (only a power cut can lose the last ones). Busy waits up to 5 s.
    ///
    /// A new file is created mode 0600 (its WAL and shared-memory files take the same mode): the
    /// accounts hold password hashes, which are as good as the passwords for digest sign-in.
    static func open(path: String?) throws -> DatabaseQueue {
        if let path, !FileManager.default.fileExists(atPath: path) {
            let descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if descriptor >= 0 { close(descriptor) }
        }
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
