import Foundation
import NIOCore
import NIOPosix
import SIPCore
import SIPStack
import SIPTransport
import NIOSSL
import STUNCore
import Testing
import TestSupport

/// SPEC B10, B13, B28 at the edge: bad input gets a clear answer or a closed connection, and
/// every other flow — the registered phone, the traversal link — goes on untouched.
@Suite("MRA bad input", .serialized)
struct MRABadInputTests {
    /// A client stack that records the flows that closed.
    final class Prober: Sendable {
        let stack: SIPStack
        let closed = LockedBox<[UInt64]>([])
        let stun = STUNAnswers()

        init(tls: NIOSSLContextBox? = nil) {
            stack = SIPStack(group: MultiThreadedEventLoopGroup.singleton, transportConfiguration: .init(tlsClient: tls?.context))
            stack.setHandlers(onRequest: { _ in }, onTransportEvent: { [closed, stun] event in
                if case .flowClosed(let flow, _) = event { closed.mutate { $0.append(flow.connectionID) } }
                stun.record(event)
            })
        }

        func waitClosed(_ flow: Flow) async throws {
            try await eventually("the edge closed the connection") { closed.read { $0.contains(flow.connectionID) } }
        }
    }

    /// The registered phone and the link are untouched.
    func expectUntouched(_ alice: TestPhone, _ lab: MRADeployment) async throws {
        #expect(try await alice.keepalive() != nil, "the registered phone's keepalive is still answered")
        #expect((await lab.edges[0].service.status).contains { $0.path == "Links Link 1 State" && $0.value == "Up" })
    }

    @Test func garbagePlainTCPAndACertificatelessClientOnTheTraversalPortAreShutOut() async throws {
        let lab = try await MRADeployment.start()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        let traversal = lab.edges[0].traversalAddress

        let plain = Prober()
        let flow = try await plain.stack.transport.connect(.tcp, to: traversal)
        try await plain.stack.transport.send(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n\u{0}\u{1}garbage"), on: flow)
        try await plain.waitClosed(flow)

        let noCertificate = Prober(tls: NIOSSLContextBox(try SIPTLS.clientContext(trustedCAPEM: lab.caPEM)))
        if let tlsFlow = try? await noCertificate.stack.transport.connect(.tls, to: traversal, serverHostname: "localhost") {
            try? await noCertificate.stack.transport.send(ByteBuffer(string: "OPTIONS sip:x SIP/2.0\r\n\r\n"), on: tlsFlow)
            try await noCertificate.waitClosed(tlsFlow)
        }
        try await expectUntouched(alice, lab)
        await plain.stack.transport.shutdown()
        await noCertificate.stack.transport.shutdown()
        await alice.close()
        await lab.shutdown()
    }

    @Test func stunFromAPhoneThatNeverRegisteredIsAnsweredOnlyOnUDP() async throws {
        let lab = try await MRADeployment.start()
        let stranger = Prober(tls: NIOSSLContextBox(try SIPTLS.clientContext(trustedCAPEM: lab.caPEM)))
        let tlsFlow = try await stranger.stack.transport.connect(.tls, to: lab.edgeAddress(), serverHostname: "localhost")
        let overTLS = STUNProbe.request()
        try await stranger.stack.transport.send(overTLS.bytes, on: tlsFlow)
        #expect(await stranger.stun.answer(to: overTLS.id, waitingMilliseconds: 500) == nil, "no STUN answers to strangers on TLS")

        _ = try await stranger.stack.transport.listen(.udp, host: "127.0.0.1", port: 0)
        let udpFlow = try await stranger.stack.transport.connect(.udp, to: lab.edges[0].boundAddresses[.udp]!)
        let overUDP = STUNProbe.request()
        try await stranger.stack.transport.send(overUDP.bytes, on: udpFlow)
        #expect(await stranger.stun.answer(to: overUDP.id, waitingMilliseconds: 5_000) != nil, "RFC 5626 §4.4.2: answered on UDP")
        await stranger.stack.transport.shutdown()
        await lab.shutdown()
    }

    @Test func aForgedFlowTokenGets403AndAClosedFlowGets430ThatTheCallerSeesAs480() async throws {
        let lab = try await MRADeployment.start()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        let bob = try TestPhone(user: "bob", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        try expectOK(try await bob.register(at: lab.edgeAddress()))

        // A peer with a core's certificate sends a request with a made-up token.
        let certificates = lab.folder.appendingPathComponent("tls")
        let fakeCore = Prober(tls: NIOSSLContextBox(try SIPTLS.clientContext(
            trustedCAPEM: lab.caPEM,
            certificateChainPEM: try String(contentsOf: certificates.appendingPathComponent("server.pem"), encoding: .utf8),
            privateKeyPEM: try String(contentsOf: certificates.appendingPathComponent("server-key.pem"), encoding: .utf8))))
        let link = try await fakeCore.stack.transport.connect(.tls, to: lab.edges[0].traversalAddress, serverHostname: "localhost")
        var forged = try SIPParser.parse("""
            OPTIONS sip:alice@192.0.2.10:5999;transport=tls SIP/2.0\r
            Via: SIP/2.0/TLS \(ProxyHostPort.of(link.local));branch=z9hG4bK-forged-1\r
            Max-Forwards: 70\r
            From: <sip:mallory@example.com>;tag=m\r
            To: <sip:alice@example.com>\r
            Call-ID: forged-1\r
            CSeq: 1 OPTIONS\r
            Content-Length: 0\r
            \r

            """)
        forged.headers.prepend(.route, "<sip:f1.00112233445566778899@127.0.0.1;lr;x-ew-node=edge-1>")
        let refused = try await fakeCore.stack.send(request: forged, on: link)
        #expect(refused.statusLine?.statusCode == 403)

        // alice's connection closes: the edge answers 430 Flow Failed to the registrar, which has
        // no other flow of hers and answers the caller 480 (RFC 5626 §5.3: a 430 never goes upstream).
        await alice.close()
        let bobFlow = try #require(bob.flow.read { $0 })
        let response = try await bob.stack.send(request: bob.invite("alice", callID: "to-a-closed-flow"), on: bobFlow)
        #expect(response.statusLine?.statusCode == 480)
        #expect(response.statusLine?.reasonPhrase.contains("no flow of sip:alice@example.com is left") == true, "after the edge's 430")
        #expect(try await bob.keepalive() != nil)
        await fakeCore.stack.transport.shutdown()
        await bob.close()
        await lab.shutdown()
    }

    @Test func anOversizedMessageClosesOnlyThatConnection() async throws {
        let lab = try await MRADeployment.start()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        let sender = Prober(tls: NIOSSLContextBox(try SIPTLS.clientContext(trustedCAPEM: lab.caPEM)))
        let flow = try await sender.stack.transport.connect(.tls, to: lab.edgeAddress(), serverHostname: "localhost")
        let body = String(repeating: "x", count: 70_000)
        let huge = "MESSAGE sip:alice@example.com SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:1;branch=z9hG4bK-big\r\n"
            + "Max-Forwards: 70\r\nFrom: <sip:m@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\nCall-ID: big\r\n"
            + "CSeq: 1 MESSAGE\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        try? await sender.stack.transport.send(ByteBuffer(string: huge), on: flow)
        try await sender.waitClosed(flow)
        try await expectUntouched(alice, lab)
        await sender.stack.transport.shutdown()
        await alice.close()
        await lab.shutdown()
    }

    @Test func aCalleeThatVanishesMidTransactionEndsTheCallAndNothingElse() async throws {
        let lab = try await MRADeployment.start(edges: 2)
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        let carol = try TestPhone(user: "carol", caPEM: lab.caPEM, answerInvites: false)
        try expectOK(try await alice.register(at: lab.edgeAddress(0)))
        try expectOK(try await carol.register(at: lab.edgeAddress(1)))
        let call = try await alice.callUntilRinging(alice.invite("carol", callID: "vanishing"))
        await carol.close()
        let status = try await call.value.statusLine?.statusCode ?? 0
        #expect(status >= 400, "the call fails at once instead of ringing forever (got \(status))")
        #expect(try await alice.keepalive() != nil)
        await alice.close()
        await lab.shutdown()
    }
}

/// A TLS client context handed across concurrency domains.
struct NIOSSLContextBox: @unchecked Sendable {
    let context: NIOSSLContext
    init(_ context: NIOSSLContext) { self.context = context }
}

enum STUNProbe {
    static func request() -> (id: [UInt8], bytes: ByteBuffer) {
        let message = STUNMessage.bindingRequest()
        return (message.transactionID, ByteBuffer(bytes: message.encode()))
    }
}
