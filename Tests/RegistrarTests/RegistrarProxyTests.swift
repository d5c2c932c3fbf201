import Phone
import Foundation
import Location
import NIOCore
import NIOPosix
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import Testing
import TestSupport
@testable import Registrar

/// The registrar's location service on loopback: an INVITE from one registered UA reaches the
/// other over the flow it registered on, the answers come back, and ACK and BYE follow the
/// Record-Route.
@Suite("Registrar location service")
struct RegistrarProxyTests {
    /// A user agent that registers over TCP and answers INVITE with 180 and 200, BYE with 200.
    final class TestUA: Sendable {
        let stack = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let user: String
        let received = LockedBox<[String]>([])

        init(user: String) {
            self.user = user
            stack.setHandlers(onRequest: { [received, user] request in
                let method = request.message.requestLine?.method ?? ""
                received.mutate { $0.append(method) }
                switch method {
                case "INVITE":
                    request.respond(SIPResponseBuilder.response(to: request.message, statusCode: 180, reasonPhrase: "Ringing", toTag: "t-\(user)"))
                    var ok = SIPResponseBuilder.response(to: request.message, statusCode: 200, reasonPhrase: "OK", toTag: "t-\(user)")
                    ok.headers.append(.contact, "<sip:\(user)@192.0.2.20:5999;transport=tcp>")
                    for route in request.message.headers.lines(.recordRoute) { ok.headers.append(.recordRoute, route) }
                    request.respond(ok)
                case "BYE":
                    request.respond(SIPResponseBuilder.response(to: request.message, statusCode: 200, reasonPhrase: "OK"))
                default:
                    break
                }
            })
        }

        func register(at address: SocketAddress) async throws -> Flow {
            let flow = try await stack.transport.connect(.tcp, to: address)
            let ok = try await DigestRegistration.register(stack, on: flow, user: user, password: "pw-\(user)")
            #expect(ok.statusLine?.statusCode == 200)
            return flow
        }
    }

    @Test func anInviteReachesTheCalleeOnItsRegisteredFlowAndTheDialogFollows() async throws {
        let accounts = InMemoryAccountStore()
        for user in ["alice", "bob"] {
            await accounts.save(DigestAuthenticator.account(username: user, realm: "example.com", password: "pw-\(user)"))
        }
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let registrar = RegistrarService(stack: server, locations: InMemoryLocationStore(), accounts: accounts,
                                         configuration: .init(), clock: { Int64(Date().timeIntervalSince1970 * 1000) })
        let address = try await server.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        let alice = TestUA(user: "alice"), bob = TestUA(user: "bob")
        let aliceFlow = try await alice.register(at: address)
        _ = try await bob.register(at: address)

        let invite = try SIPParser.parse("""
            INVITE sip:bob@example.com SIP/2.0\r
            Via: SIP/2.0/TCP 192.0.2.10:5999;branch=z9hG4bK-inv-1\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=a1\r
            To: <sip:bob@example.com>\r
            Call-ID: call-ab\r
            CSeq: 1 INVITE\r
            Contact: <sip:alice@192.0.2.10:5999;transport=tcp>\r
            Content-Type: application/sdp\r
            Content-Length: 3\r
            \r
            v=0
            """)
        let provisional = LockedBox<[Int]>([])
        let ok = try await alice.stack.send(request: invite, on: aliceFlow) { response in
            provisional.mutate { $0.append(response.statusLine?.statusCode ?? 0) }
        }
        #expect(ok.statusLine?.statusCode == 200)
        #expect(provisional.read { $0 }.contains(180))
        #expect(try ok.vias().count == 1, "the registrar removed its own Via")
        let recordRoute = try #require(ok.headers.lines(.recordRoute).first)
        #expect(recordRoute.contains(RegistrarStateMachine.routeMarker))
        #expect(bob.received.read { $0 } == ["INVITE"])

        // ACK and BYE are sent to bob's Contact with the Record-Route as Route.
        func inDialog(_ method: String, cseq: Int, branch: String) -> SIPMessage {
            try! SIPParser.parse("""
                \(method) sip:bob@192.0.2.20:5999;transport=tcp SIP/2.0\r
                Via: SIP/2.0/TCP 192.0.2.10:5999;branch=\(branch)\r
                Route: \(recordRoute)\r
                Max-Forwards: 70\r
                From: <sip:alice@example.com>;tag=a1\r
                To: <sip:bob@example.com>;tag=t-bob\r
                Call-ID: call-ab\r
                CSeq: \(cseq) \(method)\r
                Content-Length: 0\r
                \r

                """)
        }
        alice.stack.sendStateless(inDialog("ACK", cseq: 1, branch: "z9hG4bK-ack-1"), on: aliceFlow)
        let bye = try await alice.stack.send(request: inDialog("BYE", cseq: 2, branch: "z9hG4bK-bye-1"), on: aliceFlow)
        #expect(bye.statusLine?.statusCode == 200)
        #expect(bob.received.read { $0 } == ["INVITE", "ACK", "BYE"])
        withExtendedLifetime(registrar) {}  // the stack holds the registrar weakly
        await alice.stack.transport.shutdown()
        await bob.stack.transport.shutdown()
        await server.transport.shutdown()
    }

    @Test func aBindingWithPathIsReachedThroughItsPath() async throws {
        let accounts = InMemoryAccountStore()
        for user in ["alice", "bob"] {
            await accounts.save(DigestAuthenticator.account(username: user, realm: "example.com", password: "pw-\(user)"))
        }
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let registrar = RegistrarService(stack: server, locations: InMemoryLocationStore(), accounts: accounts,
                                         configuration: .init(), clock: { Int64(Date().timeIntervalSince1970 * 1000) })
        let address = try await server.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        // A "core" registers bob with its own Path, as a core in Path mode does (SPEC B6).
        let core = TestUA(user: "bob")
        let coreAddress = try await core.stack.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        let path = "<sip:127.0.0.1:\(coreAddress.port!);transport=tcp;lr;ob>"
        let coreFlow = try await core.stack.transport.connect(.tcp, to: address)
        func register(_ cseq: Int, _ authorization: String?) -> SIPMessage {
            var message = try! SIPParser.parse("""
                REGISTER sip:example.com SIP/2.0\r
                Via: SIP/2.0/TCP 127.0.0.1:\(coreAddress.port!);branch=z9hG4bK-core-\(cseq)\r
                Via: SIP/2.0/TLS 192.0.2.20:5999;branch=z9hG4bK-phone-\(cseq);received=192.0.2.20\r
                Path: \(path)\r
                Max-Forwards: 69\r
                From: <sip:bob@example.com>;tag=rb\r
                To: <sip:bob@example.com>\r
                Call-ID: reg-bob-path\r
                CSeq: \(cseq) REGISTER\r
                Contact: <sip:bob@192.0.2.20:5999;transport=tls>\r
                Content-Length: 0\r
                \r

                """)
            if let authorization { message.headers.append(.authorization, authorization) }
            return message
        }
        let challenge = try await core.stack.send(request: register(1, nil), on: coreFlow)
        let offer = try #require(challenge.headers.lines(.wwwAuthenticate).first)
        let authorization = DigestClient.authorization(for: register(2, nil), challenges: [offer], username: "bob", password: "pw-bob")
        #expect(try await core.stack.send(request: register(2, authorization), on: coreFlow).statusLine?.statusCode == 200)

        let alice = TestUA(user: "alice")
        let aliceFlow = try await alice.register(at: address)
        let message = try SIPParser.parse("""
            MESSAGE sip:bob@example.com SIP/2.0\r
            Via: SIP/2.0/TCP 192.0.2.10:5999;branch=z9hG4bK-msg-path\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=a1\r
            To: <sip:bob@example.com>\r
            Call-ID: msg-path\r
            CSeq: 1 MESSAGE\r
            Content-Length: 0\r
            \r

            """)
        let recorder = LockedBox<[SIPMessage]>([])
        core.stack.setHandlers(onRequest: { request in
            recorder.mutate { $0.append(request.message) }
            request.respond(SIPResponseBuilder.response(to: request.message, statusCode: 200, reasonPhrase: "OK", toTag: "c"))
        })
        #expect(try await alice.stack.send(request: message, on: aliceFlow).statusLine?.statusCode == 200)
        let forwarded = try #require(recorder.read { $0.first })
        #expect(forwarded.requestLine?.uri == "sip:bob@192.0.2.20:5999;transport=tls", "the Request-URI is the registered Contact")
        #expect(forwarded.headers.lines(.route) == [Substring(path)], "the Path became the Route (RFC 3327 §5.3)")
        #expect(forwarded.maxForwards == 69)
        withExtendedLifetime(registrar) {}  // the stack holds the registrar weakly
        await alice.stack.transport.shutdown()
        await core.stack.transport.shutdown()
        await server.transport.shutdown()
    }

    @Test func anUnregisteredUserGets480() async throws {
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let registrar = RegistrarService(stack: server, locations: InMemoryLocationStore(), accounts: InMemoryAccountStore(),
                                         configuration: .init(), clock: { Int64(Date().timeIntervalSince1970 * 1000) })
        let address = try await server.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        let caller = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let flow = try await caller.transport.connect(.tcp, to: address)
        let message = try SIPParser.parse("""
            MESSAGE sip:carol@example.com SIP/2.0\r
            Via: SIP/2.0/TCP 192.0.2.10:5999;branch=z9hG4bK-msg-1\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=a1\r
            To: <sip:carol@example.com>\r
            Call-ID: msg-1\r
            CSeq: 1 MESSAGE\r
            Content-Length: 0\r
            \r

            """)
        let answer = try await caller.send(request: message, on: flow)
        #expect(answer.statusLine?.statusCode == 480)
        withExtendedLifetime(registrar) {}  // the stack holds the registrar weakly
        await caller.transport.shutdown()
        await server.transport.shutdown()
    }
}
