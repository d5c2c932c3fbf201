import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// SPEC B29 on `edgeway lab` as a process: every node's `/metrics` passes `promtool check metrics`
/// (Debian `prometheus`, installed by `.ci/run`), counts what happened, and a failover changes
/// the counters; the health endpoints answer without the token, `/metrics` not without it.
@Suite("Metrics across the lab", .serialized)
struct MetricsTests {
    static let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let required = ProcessInfo.processInfo.environment["EDGEWAY_REQUIRE_INTEROP"] == "1"

    @Test func everyNodesMetricsPassPromtoolAndAFailoverMovesTheCounters() async throws {
        try await LabUnderTest.with { lab in
            let alice = try lab.phone("alice", "alice-secret")
            let timeline = PhoneEvents(alice)
            alice.start()
            try await eventually("alice registered through edge-1, keepalives answered", seconds: 30) {
                alice.registeredEdge == lab.edges[0] && timeline.answered >= 2
            }
            for node in DiagnosticLoggingTests.nodes {
                let text = try await lab.get("/metrics", on: node)
                #expect(text.status == 200, "\(node): \(text.body)")
                if let promtool = Self.promtool {
                    let file = lab.data.appendingPathComponent("\(node).prom")
                    try text.body.write(to: file, atomically: true, encoding: .utf8)
                    let check = try await EdgewayProcess.run(executable: "/bin/sh", ["-c", "\(promtool) check metrics < '\(file.path)'"])
                    #expect(check.status == 0, "promtool on \(node)'s metrics: \(check.output)\n\(text.body)")
                } else {
                    #expect(!Self.required, "promtool is required here (EDGEWAY_REQUIRE_INTEROP=1): apt-get install prometheus")
                }
                #expect(try await lab.get("/health/live", on: node, token: false).status == 200)
                #expect(try await lab.get("/health/ready", on: node, token: false).status == 200, "\(node) ready")
                #expect(try await lab.get("/metrics", on: node, token: false).status == 401, "\(node): /metrics needs the token")
            }
            let edge1 = try await lab.get("/metrics", on: "edge-1").body
            #expect(Self.value(edge1, "edgeway_stun_keepalives_answered_total") >= 2, "\(edge1)")
            #expect(Self.value(edge1, "edgeway_sip_requests_total{method=\"REGISTER\",direction=\"in\"}") >= 1, "\(edge1)")
            #expect(Self.value(edge1, "edgeway_traversal_link_up{peer=\"core-1\"}") == 1, "\(edge1)")
            #expect(Self.value(edge1, "edgeway_flows{transport=\"tls\"}") == 1, "alice's flow: \(edge1)")
            let registrar = try await lab.get("/metrics", on: "registrar").body
            #expect(Self.value(registrar, "edgeway_registrations") == 1, "\(registrar)")

            // bob as `edgeway phone` with its own metrics, keepalives every 500 ms.
            let ca = lab.data.appendingPathComponent("tls/ca.pem").path
            // bash replaces itself with the phone (its input a sleep that keeps it open), so the
            // SIGTERM below reaches the phone itself.
            let bob = try EdgewayProcess(executable: "/bin/bash", ["-c", "exec '\(EdgewayProcess.binary.path)' phone --user bob --password bob-secret "
                + "--edge \(lab.edges[0]) --edge \(lab.edges[1]) --ca '\(ca)' --keepalive 500ms --timeout 2500ms --metrics 127.0.0.1:0 < <(sleep 120)"])
            defer { kill(bob.process.processIdentifier, SIGTERM) }
            try await eventually("bob registered through edge-1, keepalives answered; he printed: \(bob.text.suffix(500))", seconds: 30) {
                bob.text.contains("registered via \(lab.edges[0])") && bob.text.components(separatedBy: "keepalive answered").count > 2
            }
            let bobMetrics = try #require(bob.text.split(separator: "\n").first { $0.hasPrefix("metrics http://") }.map { String($0.dropFirst(8)) })

            let edge2Before = try await lab.get("/metrics", on: "edge-2").body
            let answeredOnEdge2 = Self.value(edge2Before, "edgeway_stun_keepalives_answered_total")
            let registersOnEdge2 = Self.value(edge2Before, "edgeway_sip_requests_total{method=\"REGISTER\",direction=\"in\"}")
            _ = try await EdgewayProcess.run(["lab", "fail", "edge-1", "--mode", "blackhole", "--data", lab.data.path])
            try await eventually("alice registered through edge-2", seconds: 30) { alice.registeredEdge == lab.edges[1] }
            try await eventually("edge-2 counts alice's REGISTER and answers her keepalives", seconds: 30) {
                let edge2 = try await lab.get("/metrics", on: "edge-2").body
                return Self.value(edge2, "edgeway_sip_requests_total{method=\"REGISTER\",direction=\"in\"}") > registersOnEdge2
                    && Self.value(edge2, "edgeway_stun_keepalives_answered_total") > answeredOnEdge2
            }
            try await eventually("bob registered through edge-2", seconds: 30) { bob.text.contains("registered via \(lab.edges[1])") }
            let (phoneStatus, phoneText) = try await Self.fetch(bobMetrics)
            #expect(phoneStatus == 200)
            #expect(Self.value(phoneText, "edgeway_failover_detect_seconds_count") >= 1, "\(phoneText)")
            #expect(Self.value(phoneText, "edgeway_failover_reregister_seconds_count") >= 1, "\(phoneText)")
            #expect(Self.value(phoneText, "edgeway_keepalive_rtt_seconds_count") >= 2, "\(phoneText)")
            #expect(Self.value(phoneText, "edgeway_phone_failovers_total{reason=\"keepalive_timeout\"}") >= 1, "\(phoneText)")
            #expect(Self.value(phoneText, "edgeway_keepalive_rtt_seconds_bucket{le=\"3.0\"}") >= 2, "buckets up to 3 s: \(phoneText)")
            #expect(Self.promtool != nil || !Self.required, "promtool is required here (EDGEWAY_REQUIRE_INTEROP=1)")
            if let promtool = Self.promtool {
                let file = lab.data.appendingPathComponent("phone.prom")
                try phoneText.write(to: file, atomically: true, encoding: .utf8)
                let check = try await EdgewayProcess.run(executable: "/bin/sh", ["-c", "\(promtool) check metrics < '\(file.path)'"])
                #expect(check.status == 0, "promtool on the phone's metrics: \(check.output)\n\(phoneText)")
            }
            await alice.stop()
        }
    }

    /// `GET url` without a token.
    static func fetch(_ url: String) async throws -> (Int, String) {
        let (body, response) = try await URLSession.shared.data(from: try #require(URL(string: url)))
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: body, as: UTF8.self))
    }

    /// The value of the sample `series` (name and labels, as written) in a Prometheus text, or -1.
    static func value(_ text: String, _ series: String) -> Double {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
    }
}

extension LabUnderTest {
    /// `GET PATH` on a node's admin API, with its token unless `token` is false.
    func get(_ path: String, on node: String, token: Bool = true) async throws -> (status: Int, body: String) {
        let folder = URL(fileURLWithPath: folder(node))
        let base = try String(contentsOf: folder.appendingPathComponent("admin.url"), encoding: .utf8)
        var request = URLRequest(url: try #require(URL(string: base + path)))
        if token {
            let secret = try String(contentsOf: folder.appendingPathComponent("admin-token"), encoding: .utf8)
            request.setValue("Bearer \(secret.trimmingCharacters(in: .whitespacesAndNewlines))", forHTTPHeaderField: "Authorization")
        }
        let (body, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: body, as: UTF8.self))
    }
}
