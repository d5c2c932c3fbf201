import Foundation
import Proxy
import Testing
import TestSupport

/// SPEC B11, B19: the edge answers a phone's keepalive only while the whole path behind it is
/// healthy, so the phone's 3 s timer fires when its core is gone (the registrar case is
/// SpecBehaviourTests.B11).
@Suite("MRA path health", .serialized)
struct MRAPathHealthTests {
    @Test func whenItsCoreIsGoneThePhoneReRegistersThroughAHealthyOne() async throws {
        let lab = try await MRADeployment.start(cores: 2)
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        #expect(try await alice.keepalive() != nil)
        // The edge routes to the first core by name; stopping it leaves alice's path without its core.
        await lab.cores[0].shutdown()
        try await eventually("the edge stops answering", seconds: 5) { try await alice.keepalive(waiting: 300) == nil }
        let again = try await alice.register(at: lab.edgeAddress())
        #expect(again.statusLine?.statusCode == 200)
        #expect(try await alice.keepalive() != nil, "answered again on the path through core-2")
        await alice.close()
        await lab.shutdown()
    }

    /// A core that was shut down closes its links at once and never reconnects (its reconnection
    /// delay is 1 s: three of them pass before the check).
    @Test func aStoppedCoreUnlinksAndStaysGone() async throws {
        let lab = try await MRADeployment.start(cores: 2)
        await lab.cores[0].shutdown()
        try await eventually("edge-1 has one link left", seconds: 5) {
            (await lab.edges[0].service.status).contains(StatusLine("Links Count", "1"))
        }
        try await Task.sleep(for: .seconds(3))
        let status = await lab.edges[0].service.status
        #expect(status.contains(StatusLine("Links Count", "1")), "core-1 came back: \(status)")
        #expect(status.contains(StatusLine("Links Link 1 Peer", "\"core-2\"")))
        await lab.shutdown()
    }
}
