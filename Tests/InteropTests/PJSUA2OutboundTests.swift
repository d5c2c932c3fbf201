import Foundation
import Testing
import TestSupport

/// PJSUA2 (`pip install pjsua2-python`) registers through the lab's edge over TLS with RFC 5626
/// outbound (SPEC B13): it gets `Require: outbound` and a Flow-Timer, and the edge answers its CRLF
/// pings. `.ci/run` installs PJSUA2 into `.build/pjsua2-venv`; with `EDGEWAY_REQUIRE_INTEROP=1` a
/// missing PJSUA2 is a failure.
@Suite("PJSUA2 through the edge", .serialized)
struct PJSUA2OutboundTests {
    static let python: String? = {
        let venv = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../.build/pjsua2-venv/bin/python").standardized.path
        let candidates: [String?] = [ProcessInfo.processInfo.environment["EDGEWAY_PJSUA2_PYTHON"], venv]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()
    static let required = ProcessInfo.processInfo.environment["EDGEWAY_REQUIRE_INTEROP"] == "1"

    @Test(.enabled(if: python != nil || required, "PJSUA2 is not installed (python3 -m venv .build/pjsua2-venv && .build/pjsua2-venv/bin/pip install pjsua2-python)"))
    func pjsua2RegistersWithOutboundAndItsCRLFPingsAreAnswered() async throws {
        let python = try #require(Self.python, "PJSUA2 is required here (EDGEWAY_REQUIRE_INTEROP=1)")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-pjsua2-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let base = LabPorts.base()
        let lab = try EdgewayProcess(["lab", "--data", data.path, "--base-port", String(base), "--keepalive", "1s"])
        try await eventually("lab ready", seconds: 60) { lab.text.contains("edgeway lab ready") }
        let edge = data.appendingPathComponent("edge-1").path
        #expect(try await EdgewayProcess.run(["xconfiguration", "SIP", "Advanced", "OutboundFlowTimer:", "10", "--data", edge]).status == 0)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("pjsua2/register.py").path
        let output = try await EdgewayProcess.run(executable: python, [script, "127.0.0.1:\(base + 1)", "alice", "alice-secret",
                                                                       data.appendingPathComponent("tls/ca.pem").path, "25"]).output
        #expect(output.contains("registration 200"), "\(output.suffix(2_000))")
        #expect(output.contains("Require: outbound"))
        let status = try await EdgewayProcess.run(["xstatus", "keepalive", "pingsanswered", "--data", edge]).output
        let pings = Int(status.split(separator: ":").last?.split(separator: "\n").first?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
        #expect(pings >= 1, "the edge answered PJSUA2's CRLF pings (\(status))")
        try await lab.stop()
    }
}
