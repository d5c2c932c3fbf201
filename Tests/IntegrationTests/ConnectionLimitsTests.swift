import EdgewayNode
import Foundation
import NIOCore
import NIOPosix
import SIPCore
import SIPStack
import SIPTransport
import Testing
import TestSupport

/// SPEC B28 limits at the edge: a stalled TLS handshake, a silent connection and a slow sender
/// are cut off while 100 registered phones keep their keepalives answered; past the connection
/// limit phones are refused and the traversal links keep their reserve.
@Suite("Connection limits", .serialized)
struct ConnectionLimitsTests {
    /// A plain client that records the connections the edge closed.
    final class Client: Sendable {
        let stack: SIPStack
        let closed = LockedBox<[UInt64: String]>([:])

        init(caPEM: String) throws {
            stack = SIPStack(group: MultiThreadedEventLoopGroup.singleton,
                             transportConfiguration: .init(tlsClient: try SIPTLS.clientContext(trustedCAPEM: caPEM)))
            stack.setHandlers(onRequest: { _ in }, onTransportEvent: { [closed] event in
                if case .flowClosed(let flow, let reason) = event { closed.mutate { $0[flow.connectionID] = reason } }
            })
        }

        func isClosed(_ flow: Flow) -> Bool { closed.read { $0[flow.connectionID] != nil } }
    }

    @Test func stalledHandshakesSilentConnectionsAndSlowSendersAreCutOffWhile100PhonesKeepTheirKeepalives() async throws {
        let lab = try await MRADeployment.start(loadUsers: 100) { configuration in
            // Short, yet roomy enough for a loaded machine's phones to finish their handshakes.
            configuration.tlsHandshakeTimeout = .seconds(3)
            configuration.firstMessageTimeout = .seconds(4)
            configuration.messageTimeout = .seconds(3)
        }
        let phones = try (1...100).map { try TestPhone(user: "load\($0)", caPEM: lab.caPEM, password: "pw-load") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for batch in stride(from: 0, to: phones.count, by: 10) {
                for phone in phones[batch..<batch + 10] {
                    group.addTask { try expectOK(try await phone.register(at: lab.edgeAddress())) }
                }
                try await group.waitForAll()
            }
        }
        let client = try Client(caPEM: lab.caPEM)
        // A TCP connection to the TLS port that never says hello.
        let stalled = try await client.stack.transport.connect(.tcp, to: lab.edgeAddress())
        // A TLS connection that never sends a message.
        let silent = try await client.stack.transport.connect(.tls, to: lab.edgeAddress(), serverHostname: "localhost", fresh: true)
        // A TLS connection that sends a REGISTER a byte at a time, 5 bytes a second.
        let slow = try await client.stack.transport.connect(.tls, to: lab.edgeAddress(), serverHostname: "localhost", fresh: true)
        let slowBytes = Array("REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-slow\r\n".utf8)
        for byte in slowBytes where !client.isClosed(slow) {
            try? await client.stack.transport.send(ByteBuffer(bytes: [byte]), on: slow)
            try await Task.sleep(for: .milliseconds(200))
        }
        try await eventually("all three cut off", seconds: 30) { [stalled, silent, slow].allSatisfy(client.isClosed) }
        #expect(client.closed.read { $0.count } == 3)

        let answered = try await withThrowingTaskGroup(of: Bool.self) { group in
            for phone in phones { group.addTask { try await phone.keepalive(waiting: 5_000) != nil } }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(answered == 100, "every registered phone's keepalive is still answered")
        await client.stack.transport.shutdown()
        for phone in phones { await phone.close() }
        await lab.shutdown()
    }

    @Test func pastTheConnectionLimitPhonesAreRefusedAndTheTraversalLinksKeepTheirReserve() async throws {
        // 5 connections, 2 of them only for traversal links: with both cores linked, one phone fits.
        let lab = try await MRADeployment.start(cores: 2) { configuration in
            configuration.maxConnections = 5
            configuration.reservedConnections = 2
        }
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        let bob = try TestPhone(user: "bob", caPEM: lab.caPEM)
        await #expect(throws: (any Error).self, "the fourth connection is over the phones' share") {
            try await bob.register(at: lab.edgeAddress())
        }
        #expect(try await alice.keepalive() != nil)
        let links = await lab.edges[0].service.status.filter { $0.path.hasSuffix(" State") && $0.value == "Up" }
        #expect(links.count == 2, "both traversal links stay up")
        await alice.close()
        await bob.close()
        await lab.shutdown()
    }
}
