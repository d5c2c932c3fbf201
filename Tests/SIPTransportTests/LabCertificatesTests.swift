import Foundation
import SIPTransport
import Testing
import TestSupport

/// The lab's TLS material in a shared folder (`certificates:`): nodes started together on one
/// folder end up trusting one CA.
@Suite("Lab certificates")
struct LabCertificatesTests {
    @Test func nodesStartedTogetherOnOneFolderGetOneCA() async throws {
        let folder = try temporaryFolder("edgeway-lab-tls")
        defer { try? FileManager.default.removeItem(at: folder) }
        let authorities = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<6 {
                group.addTask { try LabCertificates.loadOrCreate(in: folder).caPEM }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(authorities.count == 1, "every node read the CA the first one created")
        #expect(try LabCertificates.loadOrCreate(in: folder).caPEM == authorities.first, "and a later start reuses it")
    }
}
