import Foundation
import Testing
import TestSupport

/// Errors of the command-line tool name the cause and the fix, and change nothing on the way.
@Suite("CLI errors")
struct CLIErrorTests {
    @Test func aMissingCAFileIsNamedWithItsOption() async throws {
        let result = try await EdgewayProcess.run(["phone", "--user", "alice", "--password", "x", "--edge", "127.0.0.1:1", "--ca", "nope.pem"])
        #expect(result.status != 0)
        #expect(result.output.contains("--ca nope.pem: no such file"), "\(result.output)")
        #expect(!result.output.contains("NSCocoaErrorDomain"), "no Foundation error domain")
    }

    /// `users list` and `users remove` read accounts; only `users add` creates a data folder.
    @Test func listingUsersOfAMissingFolderSaysSoAndCreatesNothing() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-nousers-\(UUID().uuidString)")
        let result = try await EdgewayProcess.run(["users", "list", "--data", folder.path])
        #expect(result.status != 0)
        #expect(result.output.contains("no accounts in \(folder.path)"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: folder.path))
    }

    /// A key the role does not read is a warning at start (a registrar given `edges:`).
    @Test func aKeyOfAnotherRoleIsReported() async throws {
        let folder = try temporaryFolder("edgeway-roles")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("registrar.yaml")
        try "data: \(folder.path)/data\nlisten:\n  tcp: 127.0.0.1:0\nedges: [127.0.0.1:7001]\n".write(to: config, atomically: true, encoding: .utf8)
        let registrar = try EdgewayProcess(["serve", "--role", "registrar", "--config", config.path])
        try await eventually("ready", seconds: 30) { registrar.text.contains("ready") || !registrar.isRunning }
        #expect(registrar.text.contains("warning: \(config.path): edges: not used by a registrar (a key of: core)"), "\(registrar.text)")
        try await registrar.stop()
    }
}

/// One grammar across commands: durations in any unit, `--data` for a lab everywhere, a version.
@Suite("CLI grammar")
struct CLIGrammarTests {
    @Test func durationsTakeAnyUnitAndNumbersKeepTheirDocumentedUnit() async throws {
        // A phone with no edge to reach: the options are read before anything is sent.
        for keepalive in ["5s", "500ms", "2m", "30000"] {
            let result = try await EdgewayProcess.run(["phone", "--user", "a", "--password", "x", "--keepalive", keepalive, "--timeout", "1s"])
            #expect(!result.output.contains("--keepalive"), "\(keepalive) is a duration: \(result.output)")
        }
        let wrong = try await EdgewayProcess.run(["phone", "--user", "a", "--password", "x", "--keepalive", "soon"])
        #expect(wrong.status != 0 && wrong.output.contains("--keepalive"), "\(wrong.output)")
        let probe = try await EdgewayProcess.run(["stun", "probe", "127.0.0.1:9", "--timeout", "soon"])
        #expect(probe.status != 0 && probe.output.contains("--timeout"), "\(probe.output)")
    }

    @Test func versionIsPrinted() async throws {
        let result = try await EdgewayProcess.run(["--version"])
        #expect(result.status == 0 && result.output.hasPrefix("0."), "\(result.output)")
    }
}

/// An error names what failed without a generic usage line of the root command after it.
@Suite("CLI error shape")
struct CLIErrorShapeTests {
    @Test func aRuntimeErrorHasNoUsageLine() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-nolab-\(UUID().uuidString)")
        let result = try await EdgewayProcess.run(["lab", "heal", "edge-1", "--data", folder.path])
        #expect(result.status == 1)
        #expect(result.output.contains("no running lab under"), "\(result.output)")
        #expect(!result.output.contains("Usage: edgeway <subcommand>"), "\(result.output)")
    }
}
