import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import Testing
import TestSupport

/// Two test UAs registered with the registrar process: an INVITE from one reaches the other over
/// the TLS connection it registered on, and the answers come back.
@Suite("Calls through the registrar process", .serialized)
struct RegistrarProcessCallTests {
    @Test func anInviteFromOneRegisteredUAReachesTheOther() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-call-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("registrar.yaml").path
        try """
            domain: example.com
            data: \(folder.appendingPathComponent("data").path)
            listen:
              tls: 127.0.0.1:0
            """.write(toFile: config, atomically: true, encoding: .utf8)
        for user in ["alice", "bob"] {
            #expect(try await EdgewayProcess.run(["users", "add", user, "--password", "pw-\(user)", "--config", config]).status == 0)
        }
        let registrar = try EdgewayProcess(["serve", "--role", "registrar", "--config", config])
        let address = try #require(try await registrar.readyAddresses()[.tls])
        let ca = try String(contentsOf: folder.appendingPathComponent("data/tls/ca.pem"), encoding: .utf8)

        let bobReceived = NIOLockedValueBox<[String]>([])
        let bob = SIPStack(group: MultiThreadedEventLoopGroup.singleton,
                           transportConfiguration: .init(tlsClient: try SIPTLS.clientContext(trustedCAPEM: ca)))
        bob.setHandlers(onRequest: { request in
            bobReceived.withLockedValue { $0.append(request.message.requestLine?.method ?? "") }
            guard request.message.requestLine?.method == "INVITE" else { return }
            request.respond(SIPResponseBuilder.response(to: request.message, statusCode: 180, reasonPhrase: "Ringing", toTag: "b"))
            var ok = SIPResponseBuilder.response(to: request.message, statusCode: 200, reasonPhrase: "OK", toTag: "b")
            ok.headers.append(.contact, "<sip:bob@192.0.2.20:5999;transport=tls>")
            request.respond(ok)
        })
        let alice = SIPStack(group: MultiThreadedEventLoopGroup.singleton,
                             transportConfiguration: .init(tlsClient: try SIPTLS.clientContext(trustedCAPEM: ca)))
        _ = try await register(bob, user: "bob", to: address)
        let aliceFlow = try await register(alice, user: "alice", to: address)

        let invite = try SIPParser.parse("""
            INVITE sip:bob@example.com SIP/2.0\r
            Via: SIP/2.0/TLS 192.0.2.10:5999;branch=z9hG4bK-call-1\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=a\r
            To: <sip:bob@example.com>\r
            Call-ID: call-process-1\r
            CSeq: 1 INVITE\r
            Contact: <sip:alice@192.0.2.10:5999;transport=tls>\r
            Content-Length: 0\r
            \r

            """)
        let ringing = NIOLockedValueBox(false)
        let answer = try await alice.send(request: invite, on: aliceFlow) { provisional in
            if provisional.statusLine?.statusCode == 180 { ringing.withLockedValue { $0 = true } }
        }
        #expect(answer.statusLine?.statusCode == 200)
        #expect(ringing.withLockedValue { $0 })
        #expect(bobReceived.withLockedValue { $0 } == ["INVITE"])
        await alice.transport.shutdown()
        await bob.transport.shutdown()
        try await registrar.stop()
    }

    /// REGISTER with digest over TLS; returns the registered flow.
    func register(_ stack: SIPStack, user: String, to address: SocketAddress) async throws -> Flow {
        let flow = try await stack.transport.connect(.tls, to: address, serverHostname: "localhost")
        let ok = try await DigestRegistration.register(stack, on: flow, user: user, password: "pw-\(user)")
        #expect(ok.statusLine?.statusCode == 200)
        return flow
    }
}
