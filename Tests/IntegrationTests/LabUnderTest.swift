import Foundation
import NIOPosix
import Phone
import PhoneLogic
import Testing
import TestSupport

/// `edgeway lab` as its own process, as a new user starts it (keepalive 1 s, timeout 2 s: room for
/// a loaded machine),
/// with the commands an operator types against it and phones of this test process.
struct LabUnderTest {
    let data: URL
    let base: Int
    let lab: EdgewayProcess
    /// The edges' phone-facing addresses (their fault relays).
    var edges: [String] { ["127.0.0.1:\(base + 1)", "127.0.0.1:\(base + 2)"] }

    /// Starts the lab and waits until every node knows its peers (diagnostic logging reaches all).
    static func start() async throws -> LabUnderTest {
        let data = try temporaryFolder("edgeway-diagnostics")
        var started: LabUnderTest?
        // A port of the slot taken between choosing it and binding it (by another suite's lab
        // or connection): the lab says so and exits; the next slot is tried, three at most.
        for _ in 0..<3 where started == nil {
            let base = LabPorts.base()
            let lab = try EdgewayProcess(["lab", "--data", data.path, "--base-port", String(base), "--keepalive", "1s", "--timeout", "2s"])
            try await eventually("lab ready; it printed: \(lab.text.suffix(500))", seconds: 60) {
                lab.text.contains("alice / alice-secret") || !lab.isRunning
            }
            if lab.isRunning {
                started = LabUnderTest(data: data, base: base, lab: lab)
            } else {
                try #require(lab.text.contains("the port is already in use"), "\(lab.text.suffix(2_000))")
            }
        }
        let lab = try #require(started, "three port slots were taken")
        try await eventually("core-1 knows the edges and the registrar, edge-1 both cores", seconds: 30) {
            let core = try await EdgewayProcess.run(["xcommand", "DiagnosticLogging", "Status", "--data", lab.folder("core-1")]).output
            let edge = try await EdgewayProcess.run(["xcommand", "DiagnosticLogging", "Status", "--data", lab.folder("edge-1")]).output
            return core.contains("Peers: \"edge-1, edge-2, registrar\"") && edge.contains("Peers: \"core-1, core-2\"")
        }
        return lab
    }

    func folder(_ node: String) -> String {
        data.appendingPathComponent(node).path
    }

    /// Runs `edgeway ARGS --data NODE` and returns what it printed; it must succeed.
    func cli(_ arguments: [String], on node: String) async throws -> String {
        let result = try await EdgewayProcess.run(arguments + ["--data", folder(node)])
        try #require(result.status == 0, "edgeway \(arguments.joined(separator: " ")): \(result.output)")
        return result.output
    }

    /// A phone of this process with short timers: keepalive every 500 ms, 2.5 s to answer.
    func phone(_ user: String, _ password: String) throws -> SoftPhone {
        var timers = RegistrationMachine.Configuration()
        timers.keepaliveInterval = 500
        timers.keepaliveTimeout = 2_500
        timers.registerTimeout = 5_000
        let ca = try String(contentsOf: data.appendingPathComponent("tls/ca.pem"), encoding: .utf8)
        return try SoftPhone(configuration: .init(user: user, password: password, domain: "example.com", edges: edges,
                                                  trustedCAPEM: ca, timers: timers),
                             group: MultiThreadedEventLoopGroup.singleton)
    }

    /// Stops the running log, collects and downloads the cluster's bundle from edge-1.
    func record(to name: String) async throws -> URL {
        // A node down (the registrar-stopped scenario) makes Stop and Collect say status=Error and exit 1.
        let stopped = try await EdgewayProcess.run(["xcommand", "DiagnosticLogging", "Stop", "--data", folder("edge-1")]).output
        #expect(stopped.contains("Node edge-1: stopped by the operator"), "\(stopped)")
        let collected = try await EdgewayProcess.run(["xcommand", "DiagnosticLogging", "Collect", "--data", folder("edge-1")])
        #expect(collected.output.contains("DiagnosticLoggingCollectResult Bundle: "), "\(collected.output)")
        let bundle = data.appendingPathComponent("\(name).tar.gz")
        let downloaded = try await cli(["xcommand", "DiagnosticLogging", "Download", "--output", bundle.path], on: "edge-1")
        #expect(downloaded.contains("DiagnosticLoggingDownloadResult (status=OK)"), "\(downloaded)")
        return bundle
    }

    /// Unpacks a bundle; returns its log's folder (`diagnostic-…`, a folder per node inside).
    func unpack(_ bundle: URL) async throws -> URL {
        let target = data.appendingPathComponent("unpacked-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        // On a thread of its own: a test thread waiting for a child stalls every other suite.
        let tar = try await EdgewayProcess.run(executable: "/usr/bin/tar", ["xzf", bundle.path, "-C", target.path])
        try #require(tar.status == 0, "tar: \(tar.output)")
        let logs = try FileManager.default.contentsOfDirectory(at: target, includingPropertiesForKeys: nil)
        return try #require(logs.first { $0.lastPathComponent.hasPrefix("diagnostic-") })
    }

    /// Runs `body` on a lab started for it, and stops the lab after, whatever `body` did.
    static func with(_ body: (LabUnderTest) async throws -> Void) async throws {
        let lab = try await start()
        do {
            try await body(lab)
        } catch {
            await lab.stop()
            throw error
        }
        await lab.stop()
    }

    /// Stops the lab (SIGTERM, then SIGKILL after 20 s) and removes its folder. Waits without
    /// holding a thread: a blocked test thread stalls every other suite of the process.
    func stop() async {
        try? await lab.stop()
        if lab.isRunning { try? await lab.stop(signal: SIGKILL) }
        try? FileManager.default.removeItem(at: data)
    }
}
