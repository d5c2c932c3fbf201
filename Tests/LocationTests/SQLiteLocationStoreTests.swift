import Foundation
import GRDB
import Location
import LocationSQLite
import Testing
import TestSupport

@Suite("SQLite location store")
struct SQLiteLocationStoreTests {
    @Test func conformsToTheLocationStoreSuite() async throws {
        #expect(try await LocationStoreConformance.failures(of: SQLiteLocationStore(path: nil)) == [])
    }

    @Test func bindingsSurviveReopeningTheFile() async throws {
        let folder = try temporaryFolder("edgeway-location")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("location.sqlite").path
        let binding = LocationStoreConformance.binding(aor: "sip:alice@example.com", instance: "urn:uuid:1", expiresAt: 99_000)
        do {
            let store = try SQLiteLocationStore(path: path)
            try await store.update(aor: binding.aor) { $0 = [binding] }
        }
        let reopened = try SQLiteLocationStore(path: path)
        #expect(try await reopened.bindings(for: binding.aor) == [binding])
    }

    /// SPEC B28: account hashes are as good as passwords for digest sign-in; only the owner reads them.
    @Test func newStoreFilesAndTheirJournalsAreOwnerOnly() async throws {
        let folder = try temporaryFolder("edgeway-location")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("accounts.sqlite").path
        let store = try SQLiteAccountStore(path: path)
        try await store.save(Account(username: "alice", realm: "example.com", ha1MD5: "a", ha1SHA256: "b"))
        for file in [path, path + "-wal"] where FileManager.default.fileExists(atPath: file) {
            let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file): \(String(mode ?? 0, radix: 8))")
        }
    }

    /// A file written by the first schema (one JSON record per binding) opens with every binding.
    @Test func bindingsOfTheFirstSchemaAreMigrated() async throws {
        let folder = try temporaryFolder("edgeway-location")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("location.sqlite").path
        var routed = LocationStoreConformance.binding(aor: "sip:alice@example.com", instance: "urn:uuid:1", expiresAt: 99_000)
        routed.path = ["<sip:core.example.com;lr>", "<sip:edge.example.com;lr>"]
        let binding = routed
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('bindings-v1');
                CREATE TABLE binding (aor TEXT NOT NULL, position INTEGER NOT NULL, expiresAt INTEGER NOT NULL,
                                      record BLOB NOT NULL, PRIMARY KEY (aor, position));
                """)
            try db.execute(sql: "INSERT INTO binding VALUES (?, 0, ?, ?)",
                           arguments: [binding.aor, binding.expiresAt, try JSONEncoder().encode(binding)])
        }
        let store = try SQLiteLocationStore(path: path)
        #expect(try await store.bindings(for: binding.aor) == [binding])
        #expect(try await store.count() == 1)
    }
}
