import EdgewayNode
import Foundation
import NIOPosix
import Phone
import PhoneLogic
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
        try await eventually("the edge failed, with the cause") {
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
}
