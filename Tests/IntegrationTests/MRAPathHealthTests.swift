import Foundation
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
}
