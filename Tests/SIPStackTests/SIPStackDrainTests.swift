import NIOConcurrencyHelpers
import NIOPosix
import SIPCore
import SIPTransaction
import SIPTransport
import Testing
@testable import SIPStack

/// A graceful stop (SIGTERM): no new connections, and the transactions in progress finish first.
@Suite("SIP stack drain")
struct SIPStackDrainTests {
    @Test func aDrainWaitsForTheTransactionInProgressAndRefusesNewConnections() async throws {
        let held = NIOLockedValueBox<SIPStack.IncomingRequest?>(nil)
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton, timers: SIPStackTests.timers)
        server.setHandlers(onRequest: { request in held.withLockedValue { $0 = request } })
        // The client's Timer F (64·T1, here 128 s) must not end the wait: CI saw the default 32 s
        // run out on a loaded machine, each refused connect of the wait below taking seconds.
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton, timers: SIPTimerConfiguration(t1: .seconds(2), t2: .seconds(8)))
        let address = try await server.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        let flow = try await client.transport.connect(.tcp, to: address)
        let answer = client.sendFuture(request: SIPStackTests().options(branch: "z9hG4bK-drain", transport: .tcp), on: flow)
        try await eventually { held.withLockedValue { $0 } != nil }

        let drained = Task { await server.drain(within: .seconds(60)) }  // generous: a loaded machine
        try await eventually { (try? await client.transport.connect(.tcp, to: address, fresh: true)) == nil }
        #expect(server.transactionCount == 1, "the OPTIONS is still being served")
        let request = try #require(held.withLockedValue { $0 })
        request.respond(SIPResponseBuilder.response(to: request.message, statusCode: 200, reasonPhrase: "OK", toTag: "d1"))
        #expect(await drained.value, "drained once the answer went out")
        #expect(try await answer.get().statusLine?.statusCode == 200, "the open connection still carried the answer")
        #expect(server.transactionCount == 0)
        await client.transport.shutdown()
        await server.transport.shutdown()
    }

    @Test func aDrainGivesUpAtItsLimit() async throws {
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton, timers: SIPStackTests.timers)
        server.setHandlers(onRequest: { _ in })
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton, timers: SIPStackTests.timers)
        let address = try await server.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        let flow = try await client.transport.connect(.tcp, to: address)
        _ = client.sendFuture(request: SIPStackTests().options(branch: "z9hG4bK-stuck", transport: .tcp), on: flow)
        try await eventually { server.transactionCount == 1 }
        #expect(await server.drain(within: .milliseconds(100)) == false)
        #expect(await SIPStack(group: MultiThreadedEventLoopGroup.singleton).drain(within: .milliseconds(1)), "nothing to wait for")
        await client.transport.shutdown()
        await server.transport.shutdown()
    }

    static func message(_ method: String, branch: String, cseq: String? = nil, toTag: String? = nil) -> SIPMessage {
        try! SIPParser.parse("""
            \(method) sip:bob@127.0.0.1 SIP/2.0\r
            Via: SIP/2.0/TCP 127.0.0.1:5999;branch=\(branch);rport\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=a\r
            To: <sip:bob@example.com>\(toTag.map { ";tag=\($0)" } ?? "")\r
            Call-ID: drain-call\r
            CSeq: \(cseq ?? "1 \(method)")\r
            Contact: <sip:alice@127.0.0.1:5999;transport=tcp>\r
            Content-Length: 0\r
            \r

            """)
    }

    @Test func whileDrainingNewRegistrationsAreRefusedAndOtherRequestsServed() async throws {
        let delivered = NIOLockedValueBox<[String]>([])
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        server.setHandlers(onRequest: { request in
            delivered.withLockedValue { $0.append(request.message.requestLine?.method ?? "") }
            request.respond(SIPResponseBuilder.response(to: request.message, statusCode: 200, reasonPhrase: "OK", toTag: "s1"))
        })
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let address = try await server.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        let flow = try await client.transport.connect(.tcp, to: address)
        // Accepted by the server before it stops accepting (a connection still in the listen
        // backlog is reset when the listener closes).
        let first = try await client.send(request: Self.message("OPTIONS", branch: "z9hG4bK-first"), on: flow)
        #expect(first.statusLine?.statusCode == 200)
        #expect(await server.drain(within: .seconds(5)), "nothing in progress")
        let refused = try await client.send(request: Self.message("REGISTER", branch: "z9hG4bK-reg"), on: flow)
        #expect(refused.statusLine?.statusCode == 503)
        #expect(refused.headers[.init("Retry-After")] == "5")
        #expect(try refused.to().parameters["tag"] != nil, "a final response carries a To tag")
        let heartbeat = try await client.send(request: Self.message("OPTIONS", branch: "z9hG4bK-opt"), on: flow)
        #expect(heartbeat.statusLine?.statusCode == 200, "heartbeats go on")
        let inDialog = try await client.send(request: Self.message("INFO", branch: "z9hG4bK-info", toTag: "b1"), on: flow)
        #expect(inDialog.statusLine?.statusCode == 200, "requests inside a dialog go on")
        #expect(delivered.withLockedValue { $0 } == ["OPTIONS", "OPTIONS", "INFO"])
        await client.transport.shutdown()
        await server.transport.shutdown()
    }

    @Test func anAnsweredUDPTransactionWaitingForTimerJDoesNotHoldTheDrain() async throws {
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        server.setHandlers(onRequest: { request in
            request.respond(SIPResponseBuilder.response(to: request.message, statusCode: 200, reasonPhrase: "OK", toTag: "s1"))
        })
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let address = try await server.transport.listen(.udp, host: "127.0.0.1", port: 0)
        _ = try await client.transport.listen(.udp, host: "127.0.0.1", port: 0)
        let flow = try await client.transport.connect(.udp, to: address)
        let answer = try await client.send(request: SIPStackTests().options(branch: "z9hG4bK-udp", transport: .udp), on: flow)
        #expect(answer.statusLine?.statusCode == 200)
        #expect(server.state.withLockedValue { $0.servers.count } == 1, "Timer J (32 s) keeps the transaction")
        #expect(await server.drain(within: .seconds(5)))
        await client.transport.shutdown()
        await server.transport.shutdown()
    }

    @Test func anInviteAnswered2xxHoldsTheDrainUntilItsACK() async throws {
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        server.setHandlers(onRequest: { request in
            guard request.message.requestLine?.method == "INVITE" else { return }
            request.respond(SIPResponseBuilder.response(to: request.message, statusCode: 200, reasonPhrase: "OK", toTag: "b1"))
        })
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let address = try await server.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        let flow = try await client.transport.connect(.tcp, to: address)
        let ok = try await client.send(request: Self.message("INVITE", branch: "z9hG4bK-inv"), on: flow)
        #expect(ok.statusLine?.statusCode == 200)
        #expect(server.transactionCount == 1, "owed its ACK")
        let drained = Task { await server.drain(within: .seconds(60)) }  // generous: a loaded machine
        client.sendStateless(Self.message("ACK", branch: "z9hG4bK-ack", cseq: "1 ACK", toTag: "b1"), on: flow)
        #expect(await drained.value, "the ACK ended the wait")
        #expect(server.transactionCount == 0)
        await client.transport.shutdown()
        await server.transport.shutdown()
    }

    /// Polls `condition` for at most 10 s.
    private func eventually(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<1_000 where try await condition() == false {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(try await condition())
    }
}
