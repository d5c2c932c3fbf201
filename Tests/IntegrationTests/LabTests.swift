import Foundation
import Testing
import TestSupport

/// `edgeway lab` as a new user runs it: it reaches "ready", stops on SIGTERM and reuses its data;
/// the failover scenario moves every phone and exits 0.
@Suite("The lab", .serialized)
struct LabTests {
    // Lab ports are base … base + 1942: bases in 20,000…27,000 stay below the ephemeral ports
    // (32,768 and up) that other tests' connections use.
    func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-lab-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func theLabReachesReadyStopsCleanlyAndReusesItsData() async throws {
        let data = try folder()
        defer { try? FileManager.default.removeItem(at: data) }
        let base = String(Int.random(in: 200...270) * 100)
        for round in 1...2 {
            let lab = try EdgewayProcess(["lab", "--data", data.path, "--base-port", base, "--keepalive", "1s"])
            try await eventually("lab ready (round \(round))", seconds: 60) { lab.text.contains("edgeway lab ready") }
            #expect(lab.text.contains("alice / alice-secret"))
            try await eventually("edge-1 sees both cores", seconds: 20) {
                try await EdgewayProcess.run(["xstatus", "links", "--data", data.appendingPathComponent("edge-1").path]).output
                    .components(separatedBy: "State: Up").count == 3
            }
            try await lab.stop()
            #expect(lab.text.contains("edgeway lab stopped"))
        }
    }

    @Test func theFailoverScenarioMovesEveryPhone() async throws {
        let data = try folder()
        defer { try? FileManager.default.removeItem(at: data) }
        let result = try await EdgewayProcess.run([
            "lab", "--data", data.path, "--base-port", String(Int.random(in: 200...270) * 100),
            "--scenario", "failover", "--phones", "30", "--keepalive", "1s", "--timeout", "500ms",
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("phones on the failed edge: 30; moved: 30; lost: 0"))
    }
}
