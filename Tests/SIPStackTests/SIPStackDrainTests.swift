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
        // Default timers on the client: its Timer F (32 s) must not end the wait on a loaded machine.
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let address = try await server.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        let flow = try await client.transport.connect(.tcp, to: address)
        let answer = client.sendFuture(request: SIPStackTests().options(branch: "z9hG4bK-drain", transport: .tcp), on: flow)
        try await eventually { held.withLockedValue { $0 } != nil }

        let drained = Task { await server.drain(within: .seconds(10)) }
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

    /// Polls `condition` for at most 10 s.
    private func eventually(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<1_000 where try await condition() == false {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(try await condition())
    }
}
