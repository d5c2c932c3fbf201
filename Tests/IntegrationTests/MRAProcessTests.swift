import Foundation
import NIOCore
import Proxy
import SIPTransport
import Testing
import TestSupport

/// The README's three-node example as real processes: `edgeway serve --role registrar|edge|core`,
/// a phone registering through them, and `edgeway xstatus --config` reading the edge.
@Suite("MRA as processes", .serialized)
struct MRAProcessTests {
    @Test func registrarEdgeAndCoreAsProcessesCarryARegistration() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-mra-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func write(_ name: String, _ text: String) throws -> String {
            let path = folder.appendingPathComponent(name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let tls = folder.appendingPathComponent("lab-tls").path
        let registrarConfig = try write("registrar.yaml", """
            data: \(folder.appendingPathComponent("registrar").path)
            listen:
              tcp: 127.0.0.1:0
            """)
        #expect(try await EdgewayProcess.run(["users", "add", "alice", "--password", "pw-alice", "--config", registrarConfig]).status == 0)
        let registrar = try EdgewayProcess(["serve", "--role", "registrar", "--config", registrarConfig])
        let registrarPort = try #require(try await registrar.readyAddresses()[.tcp]?.port)

        let edgeConfig = try write("edge.yaml", """
            name: edge-1
            data: \(folder.appendingPathComponent("edge-1").path)
            certificates: \(tls)
            listen:
              tls: 127.0.0.1:0
            traversal: 127.0.0.1:0
            """)
        let edge = try EdgewayProcess(["serve", "--role", "edge", "--config", edgeConfig])
        let edgeTLS = try #require(try await edge.readyAddresses()[.tls])
        let traversal = try #require(edge.text.firstMatch(of: /traversal tls 127\.0\.0\.1:(\d+)/).map { String($0.1) })

        let coreConfig = try write("core.yaml", """
            name: core-1
            data: \(folder.appendingPathComponent("core-1").path)
            certificates: \(tls)
            listen:
              tcp: 127.0.0.1:0
            edges: [127.0.0.1:\(traversal)]
            registrars: [registrar-1=127.0.0.1:\(registrarPort)]
            heartbeatInterval: 200
            """)
        let core = try EdgewayProcess(["serve", "--role", "core", "--config", coreConfig])
        _ = try await core.readyAddresses()

        try await eventually("the edge sees its link up") {
            let status = try await EdgewayProcess.run(["xstatus", "links", "--config", edgeConfig])
            return status.output.contains("*s Links Link 1 State: Up")
        }
        let ca = try String(contentsOfFile: "\(tls)/ca.pem", encoding: .utf8)
        let alice = try TestPhone(user: "alice", caPEM: ca)
        let ok = try await alice.register(at: edgeTLS)
        #expect(ok.statusLine?.statusCode == 200)
        #expect(ARSK.accepted(in: ok))
        #expect(try await alice.keepalive() != nil)
        let status = try await EdgewayProcess.run(["xstatus", "registrations", "--config", edgeConfig])
        #expect(status.output.contains("*s Registrations Count: 1"))
        await alice.close()
        for process in [core, edge, registrar] { try await process.stop() }
    }
}

/// `edgeway phone` told by the registrar that its password is wrong: it says so, tries no other
/// edge, and exits 1 by itself (issue 18, fault 2; issue 19, point 2).
@Suite("Phone CLI")
struct PhoneCLITests {
    @Test func aRefusedRegistrationStopsThePhoneWithExitStatus1() async throws {
        let lab = try await MRADeployment.start(edges: 2)
        let ca = lab.folder.appendingPathComponent("tls/ca.pem").path
        let edges = (0..<2).map { "--edge 127.0.0.1:\(lab.edgeAddress($0).port!)" }.joined(separator: " ")
        // Standard input stays open (a quiet user), so only the refusal can end the phone.
        let result = try await EdgewayProcess.run(executable: "/bin/bash", ["-c", """
            exec \(EdgewayProcess.binary.path) phone --user alice --password wrong \(edges) --ca \(ca) < <(exec 2>/dev/null; sleep 30)
            """])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("the registrar refused the registration (403)"))
        #expect(result.output.contains("stopping (not registered)"))
        #expect(!result.output.contains("via 127.0.0.1:\(lab.edgeAddress(1).port!)"), "no other edge tried: \(result.output)")
        await lab.shutdown()
    }
}

/// `edgeway loadgen` against a running edge: every phone on its own TLS connection registers.
@Suite("Load generator")
struct LoadgenTests {
    @Test func loadgenRegistersEveryPhoneThroughTheEdge() async throws {
        let lab = try await MRADeployment.start(loadUsers: 40)
        let edge = lab.edgeAddress()
        let result = try await EdgewayProcess.run([
            "loadgen", "--edge", "127.0.0.1:\(edge.port!)", "--ca", lab.folder.appendingPathComponent("tls/ca.pem").path,
            "--phones", "40", "--password", "pw-load", "--concurrency", "8",
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("registered 40/40 phones"))
        for index in 1...40 {
            #expect(try await !lab.bindings(of: "load\(index)").isEmpty)
        }
        await lab.shutdown()
    }

    /// `--keepalive` and `--metrics`: each held flow sends STUN keepalives; the loadgen serves
    /// their RTT histogram (promtool checks it) and the edge lists each phone's keepalive RTT.
    @Test func loadgenKeepsItsFlowsAliveAndServesTheirRTT() async throws {
        let lab = try await MRADeployment.start(loadUsers: 20)
        let edge = lab.edgeAddress()
        let loadgen = try EdgewayProcess([
            "loadgen", "--edge", "127.0.0.1:\(edge.port!)", "--ca", lab.folder.appendingPathComponent("tls/ca.pem").path,
            "--phones", "20", "--password", "pw-load", "--hold", "60", "--keepalive", "1", "--metrics", "127.0.0.1:0",
        ])
        try await eventually("loadgen holds its flows: \(loadgen.text)", seconds: 60) { loadgen.text.contains("holding 20 flows") }
        let url = try #require(loadgen.text.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("http://") && $0.hasSuffix("/metrics") }.map(String.init))
        var text = ""
        try await eventually("each phone's keepalives answered: \(text)", seconds: 30) {
            text = try await MetricsTests.fetch(url).1
            return MetricsTests.value(text, "edgeway_phone_keepalives_answered_total") >= 40
        }
        #expect(MetricsTests.value(text, "edgeway_keepalive_rtt_seconds_count") >= 40)
        #expect(MetricsTests.value(text, "edgeway_phone_keepalives_sent_total") >= MetricsTests.value(text, "edgeway_keepalive_rtt_seconds_count"))
        if let promtool = MetricsTests.promtool {
            let file = lab.folder.appendingPathComponent("loadgen-metrics.txt")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let check = try await EdgewayProcess.run(executable: "/bin/sh", ["-c", "\(promtool) check metrics < '\(file.path)'"])
            #expect(check.status == 0, "promtool on loadgen's metrics: \(check.output)")
        }
        let listed = await lab.edges[0].service.registrations
        #expect(listed.count == 20 && listed.allSatisfy { $0.keepaliveRTT != nil }, "\(listed.map(\.keepaliveRTT))")
        try await loadgen.stop()
        await lab.shutdown()
    }
}
