import NIOCore
import Proxy
import Settings
import SIPCore
import SIPTransport
import STUNCore
import Testing
import TestSupport

/// SPEC B1, B4–B6, B11: a phone registers over TLS through edge → core → registrar, gets AR_SK,
/// and its keepalives are answered while the path behind the edge is healthy.
@Suite("MRA path", .serialized)
struct MRAPathTests {
    @Test func aPhoneRegistersThroughEdgeAndCoreAndIsReachedThroughThem() async throws {
        let lab = try await MRADeployment.start()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        let bob = try TestPhone(user: "bob", caPEM: lab.caPEM)
        let ok = try await alice.register(at: lab.edgeAddress())
        #expect(ok.statusLine?.statusCode == 200)
        #expect(ok.hasOptionTag(ARSK.supportedTag, in: .supported))
        let local = try #require(alice.flow.read { $0 }?.local)
        let via = try ok.topVia()
        #expect(via.received == "127.0.0.1")
        #expect(via.rport == .value(local.port!))
        #expect(via.parameters["ingress-zone"] == "CollaborationEdgeZone")
        let contact = try #require(try ok.contacts().first)
        #expect(contact.parameters["expires"] == "120")
        #expect(contact.uri.port == local.port, "the phone sees its own Contact, not the core's rewriting")

        // The binding routes back through the core and the edge, onto alice's TLS connection.
        try expectOK(try await bob.register(at: lab.edgeAddress()))
        let bobFlow = try #require(bob.flow.read { $0 })
        let options = try SIPParser.parse("""
            OPTIONS sip:alice@example.com SIP/2.0\r
            Via: SIP/2.0/TLS \(ProxyHostPort.of(bobFlow.local));branch=z9hG4bK-opt-1\r
            Max-Forwards: 70\r
            From: <sip:bob@example.com>;tag=b\r
            To: <sip:alice@example.com>\r
            Call-ID: options-1\r
            CSeq: 1 OPTIONS\r
            Content-Length: 0\r
            \r

            """)
        let answer = try await bob.stack.send(request: options, on: bobFlow)
        try expectOK(answer)
        let delivered = try #require(alice.requests("OPTIONS").first)
        // bob, edge, core, registrar, core, edge.
        #expect(try delivered.vias().count == 6, "the request came through edge, core, registrar, core and edge")

        // STUN on the registered TLS connection: answered with the phone's address.
        let mapped = try await alice.keepalive()?.mappedAddress
        #expect(mapped == STUNAddress(address: [127, 0, 0, 1], port: UInt16(local.port!)))
        await alice.close()
        await bob.close()
        await lab.shutdown()
    }
}
