import EdgewayNode
import Foundation
import NIOPosix
import Phone
import PhoneLogic
import Proxy
import SIPTransport
import Testing
import TestSupport

/// Failures name their cause (issue: operator experience): a phone or a probe that does not trust
/// the edge's certificate says so, instead of "connection closed" or "I/O on closed channel".
@Suite("Failure causes")
struct FailureCauseTests {
    @Test func aPhoneWithTheWrongCASaysTheCertificateIsNotTrusted() async throws {
        let lab = try await SpecBehaviourTests.lab()
        let other = try temporaryFolder("edgeway-other-ca")
        defer { try? FileManager.default.removeItem(at: other) }
        let wrongCA = try LabCertificates.loadOrCreate(in: other).caPEM
        let phone = try SoftPhone(configuration: .init(user: "alice", password: "pw-alice", domain: "example.com",
                                                       edges: [SpecBehaviourTests.edge(lab, 0)], trustedCAPEM: wrongCA,
                                                       timers: PhoneFailoverTests.timers),
                                  group: MultiThreadedEventLoopGroup.singleton)
        let timeline = PhoneFailoverTests.Timeline(phone)
        phone.start()
        try await eventually("the edge failed, with the cause", seconds: 30) {
            timeline.contains {
                if case .registration(.edgeFailed(_, let reason)) = $0 { "\(reason)".contains("certificate not trusted") } else { false }
            }
        }
        await phone.stop()

        let caFile = other.appendingPathComponent("tls-ca.pem")
        try wrongCA.write(to: caFile, atomically: true, encoding: .utf8)
        let probe = try await EdgewayProcess.run(["stun", "probe", SpecBehaviourTests.edge(lab, 0), "--transport", "tls", "--ca", caFile.path])
        #expect(probe.status == 1)
        #expect(probe.output.contains("certificate not trusted"), "\(probe.output)")
        #expect(!probe.output.contains("I/O on closed channel"))
        await lab.shutdown()
    }

    /// A core that does not trust the edge's certificate (another CA) says so: `xstatus` gives the
    /// link's cause, and the traversal-link-down alarm names it.
    @Test func aCoreThatDoesNotTrustTheEdgeSaysWhyItsLinkIsDown() async throws {
        let folder = try temporaryFolder("edgeway-wrong-ca")
        defer { try? FileManager.default.removeItem(at: folder) }
        var edgeConfiguration = NodeConfiguration()
        edgeConfiguration.name = "edge-1"
        edgeConfiguration.data = folder.appendingPathComponent("edge-1").path
        edgeConfiguration.certificates = folder.appendingPathComponent("tls-a").path
        edgeConfiguration.traversal = "127.0.0.1:0"
        edgeConfiguration.listen = ["tls": "127.0.0.1:0"]
        let edge = try await EdgeNode(configuration: edgeConfiguration, group: MultiThreadedEventLoopGroup.singleton)
        var coreConfiguration = NodeConfiguration()
        coreConfiguration.name = "core-1"
        coreConfiguration.data = folder.appendingPathComponent("core-1").path
        coreConfiguration.certificates = folder.appendingPathComponent("tls-b").path
        coreConfiguration.listen = ["tcp": "127.0.0.1:0"]
        coreConfiguration.edges = ["127.0.0.1:\(edge.traversalAddress.port!)"]
        coreConfiguration.registrars = ["registrar=127.0.0.1:1"]
        let core = try await CoreNode(configuration: coreConfiguration, group: MultiThreadedEventLoopGroup.singleton)
        let seen = LockedBox<[StatusLine]>([])
        do {
            try await eventually("the core's status gives the link's cause") {
                let status = await core.service.status
                seen.mutate { $0 = status }
                return status.contains { $0.path == "Links Link 1 Cause" && $0.value.contains("certificate not trusted") }
            }
        } catch {
            Issue.record("\(error): \(seen.read { $0 })")
        }
        let alarm = await core.service.alarms.first { $0.id == "traversal-link-down" }
        #expect(alarm?.description.contains("certificate not trusted") == true, "\(String(describing: alarm))")
        print("core-1 alarm: \(alarm?.description ?? "none")")
        await core.shutdown()
        await edge.shutdown()
    }
}
