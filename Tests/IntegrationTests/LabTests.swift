import Foundation
import Testing
import TestSupport

/// `edgeway lab` as a new user runs it: it reaches "ready", stops on SIGTERM and reuses its data;
/// the failover scenario moves every phone and exits 0.
@Suite("The lab", .serialized)
struct LabTests {
    @Test func theLabReachesReadyStopsCleanlyAndReusesItsData() async throws {
        let data = try temporaryFolder("edgeway-lab")
        defer { try? FileManager.default.removeItem(at: data) }
        let base = String(LabPorts.base())
        for round in 1...2 {
            let lab = try EdgewayProcess(["lab", "--data", data.path, "--base-port", base, "--keepalive", "1s"])
            try await eventually("lab ready (round \(round)); it printed: \(lab.text.suffix(500))", seconds: 60) {
                // The users line follows the ready line: wait for both.
                lab.text.contains("alice / alice-secret") || !lab.isRunning
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
        let data = try temporaryFolder("edgeway-lab")
        defer { try? FileManager.default.removeItem(at: data) }
        let result = try await EdgewayProcess.run([
            "lab", "--data", data.path, "--base-port", String(LabPorts.base()),
            "--scenario", "failover", "--phones", "30", "--keepalive", "1s", "--timeout", "500ms",
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("phones on the failed edge: 30; moved: 30; lost: 0"))
    }

    @Test func theChaosScenarioWithNodesAsProcessesLosesNoPhone() async throws {
        let data = try temporaryFolder("edgeway-lab")
        defer { try? FileManager.default.removeItem(at: data) }
        // Seed 7 kills core-2, kills edge-1, black-holes edge-1 and kills the registrar, each fault
        // held 2–8 s with 2–5 s between: about 30 s, so 45 s leaves room on a loaded machine.
        let result = try await EdgewayProcess.run([
            "lab", "--processes", "--data", data.path, "--base-port", String(LabPorts.base()), "--scenario", "chaos",
            "--phones", "30", "--duration", "45s", "--keepalive", "1s", "--timeout", "500ms", "--seed", "7",
        ])
        #expect(result.status == 0, "\(result.output.suffix(3_000))")
        #expect(result.output.contains("chaos for 45.0 seconds with seed 7: 30 phones"))
        for line in ["kill -9 core-2 (pid ", "kill -9 edge-1 (pid ", "black-hole edge-1", "kill -9 registrar (pid ", "registrar restarted (pid "] {
            #expect(result.output.contains(line), "\(line) in \(result.output.suffix(3_000))")
        }
        #expect(result.output.contains("phones 30, registered 30, bindings 30, lost 0; passed"), "\(result.output.suffix(3_000))")
        let pids = result.output.split(separator: "\n").filter { $0.contains("registrar") && $0.contains("(pid ") }
            .compactMap { $0.split(separator: "(pid ").last?.prefix { $0.isNumber } }
        #expect(pids.count >= 2 && zip(pids, pids.dropFirst()).allSatisfy { $0 != $1 }, "the registrar was killed and a new process started: \(pids)")
        let log = try String(contentsOf: data.appendingPathComponent("registrar/node.log"), encoding: .utf8)
        #expect(log.components(separatedBy: "edgeway registrar ready").count >= 3, "at least two starts in the registrar's own log")
    }

    @Test func nodesStartedAsProcessesStopWhenTheLabIsKilled() async throws {
        let data = try temporaryFolder("edgeway-lab")
        defer { try? FileManager.default.removeItem(at: data) }
        let lab = try EdgewayProcess(["lab", "--processes", "--data", data.path, "--base-port", String(LabPorts.base()), "--keepalive", "1s"])
        try await eventually("lab ready; it printed: \(lab.text.suffix(500))", seconds: 60) { lab.text.contains("edgeway lab ready") || !lab.isRunning }
        /// The `edgeway serve` processes of this lab, from /proc.
        func nodes() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { $0.allSatisfy(\.isNumber) }.filter { pid in
                let command = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))).map { String(decoding: $0, as: UTF8.self) } ?? ""
                return command.contains("serve") && command.contains(data.path)
            }
        }
        try #require(lab.text.contains("edgeway lab ready"), "\(lab.text.suffix(1_000))")
        #expect(nodes().count == 5, "five node processes")
        try await lab.stop(signal: SIGKILL)
        try await eventually("every node stopped by itself", seconds: 30) { nodes().isEmpty }
    }
}

/// `edgeway lab fail|heal` from another terminal, through the lab's admin API.
@Suite("Lab faults", .serialized)
struct LabFaultTests {
    @Test func faultsAreInjectedAndHealedFromAnotherTerminal() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-labfault-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let base = String(LabPorts.base())
        let lab = try EdgewayProcess(["lab", "--data", data.path, "--base-port", base, "--keepalive", "1s"])
        try await eventually("lab ready", seconds: 60) { lab.text.contains("edgeway lab ready") }
        func state(_ node: String) async throws -> String {
            let url = try String(contentsOf: data.appendingPathComponent("lab-admin.url"), encoding: .utf8)
            let token = try String(contentsOf: data.appendingPathComponent("lab-admin-token"), encoding: .utf8)
            return try await EdgewayProcess.run(["xstatus", "nodes", node, "--admin", url, "--token", token]).output
        }
        #expect(try await EdgewayProcess.run(["lab", "fail", "edge-1", "--mode", "blackhole", "--lab", data.path]).status == 0)
        #expect(try await state("edge-1").contains("State: Blackholed"))
        #expect(try await EdgewayProcess.run(["lab", "heal", "edge-1", "--data", data.path]).status == 0)
        #expect(try await state("edge-1").contains("State: Running"))
        #expect(try await EdgewayProcess.run(["lab", "fail", "core-1", "--lab", data.path]).status == 0)
        #expect(try await state("core-1").contains("State: Killed"))
        #expect(try await EdgewayProcess.run(["lab", "heal", "core-1", "--lab", data.path]).status == 0)
        #expect(try await state("core-1").contains("State: Running"))
        let wrong = try await EdgewayProcess.run(["lab", "fail", "core-9", "--lab", data.path])
        #expect(wrong.status == 1)
        #expect(wrong.output.contains("edge-1"), "names the nodes allowed: \(wrong.output)")
        let unknownHeal = try await EdgewayProcess.run(["lab", "heal", "foo", "--lab", data.path])
        #expect(unknownHeal.status == 1 && unknownHeal.output.contains("unknown node; allowed: registrar, core-1"), "\(unknownHeal.output)")
        let badMode = try await EdgewayProcess.run(["lab", "fail", "edge-1", "--mode", "explode", "--lab", data.path])
        #expect(badMode.status != 0 && badMode.output.contains("--mode must be kill, blackhole or pause"), "\(badMode.output)")
        // A second lab on the same ports names them and the fix.
        let second = try await EdgewayProcess.run(["lab", "--data", data.path + "-2", "--base-port", base, "--keepalive", "1s"])
        try? FileManager.default.removeItem(atPath: data.path + "-2")
        #expect(second.status != 0 && second.output.contains("the port is already in use") && second.output.contains("--base-port N"),
                "\(second.output.suffix(800))")
        try await lab.stop()
    }
}
