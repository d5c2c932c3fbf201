import EdgewayNode
import Foundation
import NIOCore
import NIOPosix
import SIPCore
import SIPStack
import SIPTransport
import Testing
import TestSupport

/// SPEC B28 at the edge: a source past a category's trigger level is blocked on every transport
/// while other sources go on; a block ends after its time or by command; an exempt source is
/// never blocked. Each source is its own loopback address.
@Suite("Intrusion protection", .serialized)
struct IntrusionProtectionTests {
    /// Low trigger levels so a test reaches them; 127.0.0.9 exempt (loopback is not, here).
    static func guarded(requestBlock: Duration = .seconds(600)) -> (inout NodeConfiguration) -> Void {
        { configuration in
            configuration.intrusionProtection = IntrusionSettings(enabled: true, exemptions: [AddressPrefix("127.0.0.9")!], rules: [
                .sipMalformed: IntrusionRule(triggerLevel: 3, detectionWindow: .seconds(300), blockDuration: .seconds(600)),
                .sipAuthentication: IntrusionRule(triggerLevel: 2, detectionWindow: .seconds(300), blockDuration: .seconds(600)),
                .sipRequestRate: IntrusionRule(triggerLevel: 20, detectionWindow: .seconds(300), blockDuration: requestBlock),
                .adminLogin: IntrusionRule(triggerLevel: 3, detectionWindow: .seconds(300), blockDuration: .seconds(600)),
            ])
        }
    }

    /// A client at one loopback address, over TLS and UDP.
    final class Source: Sendable {
        let address: String
        let stack: SIPStack
        let closed = LockedBox<[UInt64]>([])
        let stun = STUNAnswers()
        private let listening = LockedBox(false)

        init(_ address: String, caPEM: String) throws {
            self.address = address
            stack = SIPStack(group: MultiThreadedEventLoopGroup.singleton,
                             transportConfiguration: .init(tlsClient: try SIPTLS.clientContext(trustedCAPEM: caPEM)))
            stack.setHandlers(onRequest: { _ in }, onTransportEvent: { [closed, stun] event in
                if case .flowClosed(let flow, _) = event { closed.mutate { $0.append(flow.connectionID) } }
                stun.record(event)
            })
        }

        /// Opens a new TLS connection to the edge from this address.
        func connect(_ lab: MRADeployment) async throws -> Flow {
            try await stack.transport.connect(.tls, to: lab.edgeAddress(), serverHostname: "localhost",
                                              from: try SocketAddress(ipAddress: address, port: 0), fresh: true)
        }

        /// Sends bytes no stream can frame on a new connection and waits until the edge closes it.
        func sendGarbage(_ lab: MRADeployment) async throws {
            let flow = try await connect(lab)
            try await stack.transport.send(ByteBuffer(string: "\u{7}not SIP\r\n\r\n"), on: flow)
            try await eventually("the edge closed the connection") { closed.read { $0.contains(flow.connectionID) } }
        }

        /// Whether the edge answers a STUN Binding request over UDP from this address within `milliseconds`.
        func answeredOverUDP(_ lab: MRADeployment, waiting milliseconds: Int = 1_000) async throws -> Bool {
            if !listening.read({ $0 }) {
                _ = try await stack.transport.listen(.udp, host: address, port: 0)
                listening.mutate { $0 = true }
            }
            let flow = try await stack.transport.connect(.udp, to: lab.edges[0].boundAddresses[.udp]!)
            let probe = STUNProbe.request()
            try await stack.transport.send(probe.bytes, on: flow)
            return await stun.answer(to: probe.id, waitingMilliseconds: milliseconds) != nil
        }

        func close() async { await stack.transport.shutdown() }
    }

    @Test func malformedMessagesBlockTheirSourceEverywhereUntilUnblockedAndSpareTheOthers() async throws {
        let lab = try await MRADeployment.start(edgeConfiguration: Self.guarded())
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM, from: "127.0.0.3")
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        let attacker = try Source("127.0.0.2", caPEM: lab.caPEM)
        let exempt = try Source("127.0.0.9", caPEM: lab.caPEM)
        let bystander = try Source("127.0.0.4", caPEM: lab.caPEM)
        #expect(try await attacker.answeredOverUDP(lab, waiting: 5_000), "answered before the block")

        for _ in 1...5 { try await exempt.sendGarbage(lab) }
        for _ in 1...3 { try await attacker.sendGarbage(lab) }

        let status = try await lab.cli("xstatus", "security", node: "edge-1")
        #expect(status.output.contains("*s Security Blocked Count: 1"), "\(status.output)")
        #expect(status.output.contains("*s Security Blocked 1 Address: 127.0.0.2"))
        #expect(status.output.contains("*s Security Blocked 1 Category: SIPMalformed"))
        // A blocked source's connection is closed at once: connect fails, or the flow closes.
        if let refused = try? await attacker.connect(lab) {
            try await eventually("the blocked source's connection is closed at once") { attacker.closed.read { $0.contains(refused.connectionID) } }
        }
        #expect(try await !attacker.answeredOverUDP(lab), "the blocked source's datagrams are dropped")
        #expect(try await bystander.answeredOverUDP(lab, waiting: 5_000), "another source is answered")
        #expect(try await exempt.answeredOverUDP(lab, waiting: 5_000), "the exempt source is never blocked")
        #expect(try await alice.keepalive() != nil, "the registered phone's keepalive is still answered")

        let unblock = try await lab.cli("xcommand", "Security Unblock Address: 127.0.0.2", node: "edge-1")
        #expect(unblock.output.contains("*r SecurityUnblockResult (status=OK): 127.0.0.2"), "\(unblock.output)")
        #expect(try await attacker.answeredOverUDP(lab, waiting: 5_000), "answered again once unblocked")
        let again = try await lab.cli("xcommand", "Security Unblock Address: 127.0.0.2", node: "edge-1")
        #expect(again.status != 0)
        #expect(again.output.contains("127.0.0.2 is not blocked"), "\(again.output)")

        for source in [attacker, exempt, bystander] { await source.close() }
        await alice.close()
        await lab.shutdown()
    }

    @Test func refusedCredentialsBlockThePhonesAddressAndFirstChallengesDoNot() async throws {
        let lab = try await MRADeployment.start(edgeConfiguration: Self.guarded())
        let bob = try TestPhone(user: "bob", caPEM: lab.caPEM, from: "127.0.0.5")
        // Each registration answers a first challenge (not counted) and registers.
        for _ in 1...3 { try expectOK(try await bob.register(at: lab.edgeAddress())) }
        let mallory = try TestPhone(user: "alice", caPEM: lab.caPEM, password: "wrong", from: "127.0.0.6")
        #expect(try await mallory.register(at: lab.edgeAddress()).statusLine?.statusCode == 403)
        #expect(try await mallory.register(at: lab.edgeAddress()).statusLine?.statusCode == 403)
        try await eventually("mallory's address is blocked") {
            try await lab.cli("xstatus", "security", node: "edge-1").output.contains("Address: 127.0.0.6")
        }
        await #expect(throws: (any Error).self, "the blocked address cannot register any more") {
            try await mallory.register(at: lab.edgeAddress())
        }
        let status = try await lab.cli("xstatus", "security", node: "edge-1").output
        #expect(status.contains("*s Security Blocked 1 Category: SIPAuthentication"), "\(status)")
        #expect(!status.contains("127.0.0.5"), "bob's first challenges are not failures")
        try expectOK(try await bob.register(at: lab.edgeAddress()))
        await bob.close()
        await mallory.close()
        await lab.shutdown()
    }

    @Test func aRequestFloodBlocksItsSourceUntilTheBlockTimeIsOver() async throws {
        let lab = try await MRADeployment.start(edgeConfiguration: Self.guarded(requestBlock: .seconds(20)))
        let flooder = try Source("127.0.0.7", caPEM: lab.caPEM)
        let flow = try await flooder.connect(lab)
        for index in 1...20 {
            let options = try SIPParser.parse("""
                OPTIONS sip:example.com SIP/2.0\r
                Via: SIP/2.0/TLS 127.0.0.7:5061;branch=z9hG4bK-flood-\(index)\r
                Max-Forwards: 70\r
                From: <sip:flood@example.com>;tag=f\(index)\r
                To: <sip:example.com>\r
                Call-ID: flood-\(index)\r
                CSeq: 1 OPTIONS\r
                Content-Length: 0\r
                \r

                """)
            flooder.stack.sendStateless(options, on: flow)
        }
        try await eventually("the flood's connection is closed by the block") { flooder.closed.read { $0.contains(flow.connectionID) } }
        #expect(try await !flooder.answeredOverUDP(lab), "blocked for its block time")
        try await eventually("answered again once the 20 s block is over", seconds: 90) {
            try await flooder.answeredOverUDP(lab)
        }
        await flooder.close()
        await lab.shutdown()
    }

    @Test func wrongAdminTokensBlockTheirSourceFromTheAdminAPI() async throws {
        let lab = try await MRADeployment.start(edgeConfiguration: Self.guarded())
        let data = lab.folder.appendingPathComponent("edge-1")
        let url = try String(contentsOf: data.appendingPathComponent("admin.url"), encoding: .utf8)
        let token = try String(contentsOf: data.appendingPathComponent("admin-token"), encoding: .utf8)
        func status(from source: String, token: String) async throws -> String {
            try await EdgewayProcess.run(executable: "/usr/bin/curl", [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", source, "-X", "POST",
                "-H", "Authorization: Bearer \(token)", "--data", "security", "\(url)/api/xstatus",
            ]).output
        }
        for _ in 1...3 { #expect(try await status(from: "127.0.0.8", token: "wrong") == "401") }
        #expect(try await status(from: "127.0.0.8", token: token) == "403", "blocked even with the right token")
        #expect(try await status(from: "127.0.0.1", token: token) == "200", "other sources still get in")
        let listed = try await lab.cli("xstatus", "security", node: "edge-1").output
        #expect(listed.contains("*s Security Blocked 1 Category: AdminLogin"), "\(listed)")
        await lab.shutdown()
    }
}
