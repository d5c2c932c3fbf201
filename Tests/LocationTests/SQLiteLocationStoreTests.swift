import Foundation
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
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-location-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
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
}
