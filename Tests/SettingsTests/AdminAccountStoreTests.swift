import Foundation
import Settings
import Testing

/// The web UI's admin accounts in SQLite (SPEC B23): kept across openings, names checked, a
/// name taken refused unless replacing.
struct AdminAccountStoreTests {
    @Test func accountsAreKeptCheckedAndRemoved() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-admins-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("admins.sqlite").path
        let store = try AdminAccountStore(path: path)
        try store.save(name: "admin", passwordHash: "$2b$12$first", replacing: false)
        #expect(throws: AdminAccountError.self) { try store.save(name: "admin", passwordHash: "$2b$12$second", replacing: false) }
        #expect(throws: AdminAccountError.self) { try store.save(name: "bad name", passwordHash: "$2b$12$x", replacing: false) }
        #expect(throws: AdminAccountError.self) { try store.save(name: "", passwordHash: "$2b$12$x", replacing: false) }
        try store.save(name: "ops.team-1", passwordHash: "$2b$12$ops", replacing: false)
        try store.save(name: "admin", passwordHash: "$2b$12$second", replacing: true)

        let reopened = try AdminAccountStore(path: path)
        #expect(try reopened.names() == ["admin", "ops.team-1"])
        #expect(try reopened.passwordHash(of: "admin") == "$2b$12$second")
        #expect(try reopened.passwordHash(of: "nobody") == nil)
        #expect(try reopened.remove(name: "ops.team-1"))
        #expect(try !reopened.remove(name: "ops.team-1"))
        #expect(try reopened.names() == ["admin"])
    }
}
