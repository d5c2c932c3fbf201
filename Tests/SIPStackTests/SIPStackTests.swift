import NIOPosix
import SIPCore
import SIPTransaction
import SIPTransport
import Testing
@testable import SIPStack

/// Two stacks on 127.0.0.1 with short timers: requests, answers, timeouts, stateless 400s.
@Suite("SIP stack on loopback")
struct SIPStackTests {
    static let timers = SIPTimerConfiguration(t1: .milliseconds(10), t2: .milliseconds(40), t4: .milliseconds(50),
                                              timerDUnreliable: .milliseconds(320))

    func options(branch: String, maxForwards: String = "70", transport: SIPTransportKind) -> SIPMessage {
        try! SIPParser.parse("""
            OPTIONS sip:registrar@127.0.0.1 SIP/2.0\r
            Via: SIP/2.0/\(transport.viaName) 127.0.0.1:5999;branch=\(branch);rport\r
            Max-Forwards: \(maxForwards)\r
            From: <sip:alice@example.com>;tag=a\r
            To: <sip:registrar@example.com>\r
            Call-ID: \(branch)@test\r
            CSeq: 1 OPTIONS\r
            Content-Length: 0\r
            \r

            """)
    }

    @Test(arguments: SIPTransportKind.allCases.filter { $0 != .tls })
    func aRequestGetsItsAnswerThroughBothTransactions(transport: SIPTransportKind) async throws {
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton, timers: Self.timers)
        server.setHandlers(onRequest: { request in
            request.respond(SIPResponseBuilder.response(to: request.message, statusCode: 200, reasonPhrase: "OK", toTag: "s1"))
        })
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton, timers: Self.timers)
        let address = try await server.transport.listen(transport, host: "127.0.0.1", port: 0)
        if transport == .udp { _ = try await client.transport.listen(.udp, host: "127.0.0.1", port: 0) }
        let flow = try await client.transport.connect(transport, to: address)
        let response = try await client.send(request: options(branch: "z9hG4bK-\(transport)-1", transport: transport), on: flow)
        #expect(response.statusLine?.statusCode == 200)
        #expect(try response.to().parameters["tag"] == "s1")
        // RFC 3581: the server filled in rport (the Via claims port 5999); the sent-by host is the
        // source address, so no received parameter is needed (RFC 3261 §18.2.1).
        let via = try response.topVia()
        #expect(via.received == nil)
        #expect(via.rport == .value(flow.local.port!))
        await client.transport.shutdown()
        await server.transport.shutdown()
    }

    @Test func aSilentServerMakesTheClientTimeOutAfter64T1() async throws {
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton, timers: Self.timers)
        server.setHandlers(onRequest: { _ in })
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton, timers: Self.timers)
        let address = try await server.transport.listen(.udp, host: "127.0.0.1", port: 0)
        _ = try await client.transport.listen(.udp, host: "127.0.0.1", port: 0)
        let flow = try await client.transport.connect(.udp, to: address)
        let started = ContinuousClock.now
        let error = await #expect(throws: SIPStackError.self) {
            try await client.send(request: options(branch: "z9hG4bK-silent", transport: .udp), on: flow)
        }
        #expect(error?.code == .timeout)
        #expect(error?.impliedStatus.code == 408)
        // 64·T1 = 640 ms; a generous upper bound only.
        #expect(ContinuousClock.now - started < .seconds(10))
        await client.transport.shutdown()
        await server.transport.shutdown()
    }

    @Test func aMalformedRequestGetsAStatelessAnswerWithTheReason() async throws {
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton, timers: Self.timers)
        server.setHandlers(onRequest: { _ in Issue.record("a malformed request reached the TU") })
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton, timers: Self.timers)
        let address = try await server.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        let flow = try await client.transport.connect(.tcp, to: address)
        let response = try await client.send(request: options(branch: "z9hG4bK-bad", maxForwards: "300", transport: .tcp),
                                             on: flow)
        #expect(response.statusLine?.statusCode == 400)
        #expect(response.statusLine?.reasonPhrase.contains("Max-Forwards 300") == true)
        await client.transport.shutdown()
        await server.transport.shutdown()
    }
}
