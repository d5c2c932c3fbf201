import Foundation
import Testing
import TestSupport

/// `edgeway lab` as a new user runs it: it reaches "ready", stops on SIGTERM and reuses its data;
/// the failover scenario moves every phone and exits 0.
@Suite("The lab", .serialized)
struct LabTests {
    func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-lab-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func theLabReachesReadyStopsCleanlyAndReusesItsData() async throws {
        let data = try folder()
        defer { try? FileManager.default.removeItem(at: data) }
        let base = String(LabPorts.base())
        for round in 1...2 {
            let lab = try EdgewayProcess(["lab", "--data", data.path, "--base-port", base, "--keepalive", "1s"])
            try await eventually("lab ready (round \(round)); it printed: \(lab.text.suffix(500))", seconds: 60) {
                lab.text.contains("edgeway lab ready") || !lab.isRunning
            }
            #expect(lab.text.contains("edgeway lab ready"), "\(lab.text.suffix(1_000))")
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
            "lab", "--data", data.path, "--base-port", String(LabPorts.base()),
            "--scenario", "failover", "--phones", "30", "--keepalive", "1s", "--timeout", "500ms",
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("phones on the failed edge: 30; moved: 30; lost: 0"))
    }
}

/// `edgeway lab fail|heal` from another terminal, through the lab's admin API.
@Suite("Lab faults", .serialized)
struct LabFaultTests {
    @Test func faultsAreInjectedAndHealedFromAnotherTerminal() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-labfault-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let lab = try EdgewayProcess(["lab", "--data", data.path, "--base-port", String(LabPorts.base()), "--keepalive", "1s"])
        try await eventually("lab ready", seconds: 60) { lab.text.contains("edgeway lab ready") }
        func state(_ node: String) async throws -> String {
            let url = try String(contentsOf: data.appendingPathComponent("lab-admin.url"), encoding: .utf8)
            let token = try String(contentsOf: data.appendingPathComponent("lab-admin-token"), encoding: .utf8)
            return try await EdgewayProcess.run(["xstatus", "nodes", node, "--admin", url, "--token", token]).output
        }
        #expect(try await EdgewayProcess.run(["lab", "fail", "edge-1", "--mode", "blackhole", "--lab", data.path]).status == 0)
        #expect(try await state("edge-1").contains("State: Blackholed"))
        #expect(try await EdgewayProcess.run(["lab", "heal", "edge-1", "--lab", data.path]).status == 0)
        #expect(try await state("edge-1").contains("State: Running"))
        #expect(try await EdgewayProcess.run(["lab", "fail", "core-1", "--lab", data.path]).status == 0)
        #expect(try await state("core-1").contains("State: Killed"))
        #expect(try await EdgewayProcess.run(["lab", "heal", "core-1", "--lab", data.path]).status == 0)
        #expect(try await state("core-1").contains("State: Running"))
        let wrong = try await EdgewayProcess.run(["lab", "fail", "core-9", "--lab", data.path])
        #expect(wrong.status == 1)
        #expect(wrong.output.contains("edge-1"), "names the nodes allowed: \(wrong.output)")
        try await lab.stop()
    }
}
