import Foundation
import Testing
import TestSupport

/// SPEC B23 in a real browser: `Browser/web_ui.py` drives headless Chromium (Selenium) against
/// `edgeway lab` as a process, with alice registered through edge-1: login refused and accepted,
/// the keepalive switched Off and On from *Configuration > … > Advanced* with the mismatch alarm
/// seen and cleared on the edge's and the core's status pages, alice's keepalive RTT on the
/// registrations page, diagnostic logging started, stopped, collected and downloaded from its page,
/// a form without the CSRF token and requests without a session refused. Screenshots of each page
/// are kept in `.build/artifacts/web-ui/`.
@Suite(.serialized) struct WebUITests {
    static let required = ProcessInfo.processInfo.environment["EDGEWAY_REQUIRE_INTEROP"] == "1"
    static let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// `.ci/run`'s virtual environment with Selenium, else the system's Python.
    static let python = [package.appendingPathComponent(".build/browser-venv/bin/python").path, "/usr/bin/python3"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Whether Chromium, its driver and Selenium are here.
    static func browserAvailable() async throws -> Bool {
        guard let python, FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") else { return false }
        return try await EdgewayProcess.run(executable: python, ["-c", "import selenium"]).status == 0
    }

    @Test func anOperatorRunsTheLabFromTheBrowser() async throws {
        guard try await Self.browserAvailable() else {
            #expect(!Self.required, "chromium, chromium-driver and Selenium are required here (EDGEWAY_REQUIRE_INTEROP=1): see .ci/run")
            return
        }
        try await LabUnderTest.with { lab in
            let alice = try lab.phone("alice", "alice-secret")
            alice.start()
            try await eventually("alice registered through edge-1", seconds: 30) { alice.registeredEdge == lab.edges[0] }
            let artifacts = Self.package.appendingPathComponent(".build/artifacts/web-ui")
            try? FileManager.default.removeItem(at: artifacts)
            try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
            let downloads = lab.data.appendingPathComponent("downloads")
            try FileManager.default.createDirectory(at: downloads, withIntermediateDirectories: true)
            let web = { (node: String) in
                try String(contentsOfFile: lab.data.appendingPathComponent(node).appendingPathComponent("web.url").path, encoding: .utf8)
            }
            let entry = try #require(lab.lab.text.split(separator: "\n").first { $0.hasPrefix("web UI: ") }?
                .split(separator: " ").dropFirst(2).first.map(String.init), "the lab prints its entry page: \(lab.lab.text.suffix(2_000))")
            let password = try String(contentsOf: lab.data.appendingPathComponent("admin-password"), encoding: .utf8)
            let script = Self.package.appendingPathComponent("Tests/IntegrationTests/Browser/web_ui.py").path
            let environment = ["LAB_WEB": entry, "EDGE_WEB": try web("edge-1"), "CORE_WEB": try web("core-1"), "PASSWORD": password,
                               "CA": lab.data.appendingPathComponent("tls/ca.pem").path, "ARTIFACTS": artifacts.path, "DOWNLOADS": downloads.path,
                               "EDGEWAY": EdgewayProcess.binary.path]
            let command = environment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ") + " timeout 600 '\(Self.python!)' '\(script)' 2>&1"
            let result = try await EdgewayProcess.run(executable: "/bin/sh", ["-c", command])
            await alice.stop()
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("web UI: every check passed"), "\(result.output)")
        }
    }
}
