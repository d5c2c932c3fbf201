import Phone
import Foundation
import Location
import NIOCore
import NIOPosix
import SIPCore
import SIPStack
import SIPTransport
import Testing
import TestSupport
@testable import Registrar

/// Bad input harms nothing: an oversized message closes only its own connection, and a flood of
/// idle connections from one source does not stop another source registering.
@Suite("Registrar under bad input")
struct RegistrarBadInputTests {
    func startRegistrar(maxConnectionsPerSource: Int = 200) async throws -> (SIPStack, RegistrarService, SocketAddress) {
        let accounts = InMemoryAccountStore()
        await accounts.save(DigestAuthenticator.account(username: "alice", realm: "example.com", password: "secret"))
        let stack = SIPStack(group: MultiThreadedEventLoopGroup.singleton,
                             transportConfiguration: .init(maxConnectionsPerSource: maxConnectionsPerSource))
        let registrar = RegistrarService(stack: stack, locations: InMemoryLocationStore(), accounts: accounts,
                                         configuration: .init(), clock: { Int64(Date().timeIntervalSince1970 * 1000) })
        return (stack, registrar, try await stack.transport.listen(.tcp, host: "127.0.0.1", port: 0))
    }

    func registerWithDigest(_ client: SIPStack, flow: Flow, branch: String) async throws -> SIPMessage {
        func request(_ cseq: Int, _ authorization: String?) -> SIPMessage {
            var message = try! SIPParser.parse(MRAFixtures.register
                .replacingOccurrences(of: "z9hG4bK3f7a1c2b9d", with: "z9hG4bK\(branch)\(cseq)")
                .replacingOccurrences(of: "CSeq: 101", with: "CSeq: \(cseq)"))
            if let authorization { message.headers.append(.authorization, authorization) }
            return message
        }
        let challenge = try await client.send(request: request(1, nil), on: flow)
        let offer = try #require(challenge.headers.lines(.wwwAuthenticate).first)
        let authorization = DigestClient.authorization(for: request(2, nil), challenges: [offer], username: "alice", password: "secret")
        return try await client.send(request: request(2, authorization), on: flow)
    }

    /// A digest REGISTER of `contact` over TCP; the final answer.
    func register(contact: String) async throws -> SIPMessage {
        let (stack, registrar, address) = try await startRegistrar()
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let flow = try await client.transport.connect(.tcp, to: address)
        func request(_ cseq: Int, _ authorization: String?) -> SIPMessage {
            var message = try! SIPParser.parse(MRAFixtures.register
                .replacingOccurrences(of: "z9hG4bK3f7a1c2b9d", with: "z9hG4bKcontact\(cseq)")
                .replacingOccurrences(of: "CSeq: 101", with: "CSeq: \(cseq)"))
            message.headers.remove(.contact)
            message.headers.append(.contact, contact)
            if let authorization { message.headers.append(.authorization, authorization) }
            return message
        }
        let challenge = try await client.send(request: request(1, nil), on: flow)
        #expect(challenge.statusLine?.statusCode == 401)
        let offer = try #require(challenge.headers.lines(.wwwAuthenticate).first)
        let authorization = DigestClient.authorization(for: request(2, nil), challenges: [offer], username: "alice", password: "secret")
        let answer = try await client.send(request: request(2, authorization), on: flow)
        withExtendedLifetime(registrar) {}
        await client.transport.shutdown()
        await stack.transport.shutdown()
        return answer
    }

    /// RFC 3261 §20.10, §25.1: in an addr-spec every `;` parameter is a header parameter, and a
    /// quoted value may hold `<`. Seen answered 400 "display name … must be quoted" before.
    @Test func anAddrSpecContactWithAQuotedInstanceRegisters() async throws {
        let ok = try await register(contact: #"sip:alice@192.0.2.10:5062;+sip.instance="<urn:uuid:00000000-0000-1000-8000-00000000a0a0>";reg-id=1;expires=600"#)
        #expect(ok.statusLine?.statusCode == 200)
        let bound = try #require(try ok.contacts().first)
        #expect(bound.parameters["+sip.instance"] == #""<urn:uuid:00000000-0000-1000-8000-00000000a0a0>""#)
        #expect(bound.parameters["expires"] == "600")
    }

    /// RFC 5626 §6, §12: reg-id 0 is refused, and so is a second registering Contact beside one
    /// with a reg-id. Seen stored and answered 200 before.
    @Test func theContactSetIsCheckedAgainstRFC5626() async throws {
        let instance = #"+sip.instance="<urn:uuid:00000000-0000-1000-8000-00000000a0a0>""#
        let zero = try await register(contact: "<sip:alice@192.0.2.10:5062>;\(instance);reg-id=0")
        #expect(zero.statusLine?.statusCode == 400)
        #expect(zero.statusLine?.reasonPhrase.contains("reg-id 0") == true)
        let two = try await register(contact: "<sip:alice@192.0.2.10:5062>;\(instance);reg-id=1, <sip:alice@192.0.2.11:5062>")
        #expect(two.statusLine?.statusCode == 400)
    }

    /// RFC 3261 §10.3 step 7 with §19.1.4: Contacts that differ only in case and parameter order
    /// are one binding, and Expires: 0 for any spelling of it removes it. Seen as three bindings,
    /// none removed, before.
    @Test func equivalentContactsAreOneBindingOverTheWire() async throws {
        let locations = InMemoryLocationStore()
        let accounts = InMemoryAccountStore()
        await accounts.save(DigestAuthenticator.account(username: "alice", realm: "example.com", password: "secret"))
        let stack = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let registrar = RegistrarService(stack: stack, locations: locations, accounts: accounts, configuration: .init(),
                                         clock: { Int64(Date().timeIntervalSince1970 * 1000) })
        let address = try await stack.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let flow = try await client.transport.connect(.tcp, to: address)
        func register(_ contact: String, callID: String, expires: Int = 120) async throws -> Int? {
            func request(_ cseq: Int, _ authorization: String?) -> SIPMessage {
                var message = try! SIPParser.parse(MRAFixtures.register
                    .replacingOccurrences(of: "z9hG4bK3f7a1c2b9d", with: "z9hG4bK\(callID)\(cseq)")
                    .replacingOccurrences(of: "CSeq: 101", with: "CSeq: \(cseq)")
                    .replacingOccurrences(of: "Expires: 120", with: "Expires: \(expires)")
                    .replacingOccurrences(of: "Call-ID: 8d3f2c1e-5b7a4e90-9a61d2f3@192.0.2.10", with: "Call-ID: \(callID)"))
                message.headers.remove(.contact)
                message.headers.append(.contact, contact)
                if let authorization { message.headers.append(.authorization, authorization) }
                return message
            }
            let challenge = try await client.send(request: request(1, nil), on: flow)
            let offer = try #require(challenge.headers.lines(.wwwAuthenticate).first)
            let authorization = DigestClient.authorization(for: request(2, nil), challenges: [offer], username: "alice", password: "secret")
            return try await client.send(request: request(2, authorization), on: flow).statusLine?.statusCode
        }
        #expect(try await register("<sip:u@host-a.example.com:5062;transport=tcp;lr>", callID: "eq1") == 200)
        #expect(try await register("<sip:u@HOST-A.Example.COM:5062;TRANSPORT=TCP;LR>", callID: "eq2") == 200)
        #expect(try await register("<sip:u@host-a.example.com:5062;lr;transport=tcp>", callID: "eq3") == 200)
        #expect(try await locations.bindings(for: "sip:alice@example.com").count == 1)
        #expect(try await register("<sip:u@Host-A.example.com:5062;Transport=Tcp;lr>", callID: "eq4", expires: 0) == 200)
        #expect(try await locations.bindings(for: "sip:alice@example.com").isEmpty)
        withExtendedLifetime(registrar) {}
        await client.transport.shutdown()
        await stack.transport.shutdown()
    }

    @Test func anOversizedMessageClosesItsConnectionOnly() async throws {
        let (stack, registrar, address) = try await startRegistrar()
        let events = EventLog()
        let rogue = SIPTransportLayer(group: MultiThreadedEventLoopGroup.singleton, onEvent: events.record)
        let rogueFlow = try await rogue.connect(.tcp, to: address)
        let head = MRAFixtures.register.replacingOccurrences(of: "Content-Length: 0", with: "Content-Length: 1000000")
        try await rogue.send(ByteBuffer(string: head), on: rogueFlow)
        try await events.wait { $0.contains { if case .flowClosed = $0 { return true } else { return false } } }
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let flow = try await client.transport.connect(.tcp, to: address)
        #expect(try await registerWithDigest(client, flow: flow, branch: "ok").statusLine?.statusCode == 200)
        withExtendedLifetime(registrar) {}  // the stack holds the registrar weakly
        await rogue.shutdown()
        await client.transport.shutdown()
        await stack.transport.shutdown()
    }

    @Test func aThousandIdleConnectionsFromOneSourceDoNotStopAnother() async throws {
        let (stack, registrar, address) = try await startRegistrar()
        var idle: [Channel] = []
        for _ in 0..<1_000 {
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(to: address).get() {
                idle.append(channel)
            }
        }
        #expect(idle.count == 1_000)
        try await Task.sleep(for: .milliseconds(300))
        #expect(stack.transport.connectionCount <= 200, "the per-source limit holds the flood at 200")
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let flow = try await client.transport.connect(.tcp, to: address, from: try SocketAddress(ipAddress: "127.0.0.2", port: 0))
        #expect(try await registerWithDigest(client, flow: flow, branch: "other").statusLine?.statusCode == 200)
        for channel in idle { try? await channel.close() }
        withExtendedLifetime(registrar) {}  // the stack holds the registrar weakly
        await client.transport.shutdown()
        await stack.transport.shutdown()
    }
}

/// Transport events a test received.
final class EventLog: Sendable {
    private let events = LockedBox<[SIPTransportEvent]>([])

    @Sendable func record(_ event: SIPTransportEvent) { events.mutate { $0.append(event) } }

    func wait(until predicate: @escaping ([SIPTransportEvent]) -> Bool) async throws {
        for _ in 0..<2_000 {
            if events.read(predicate) { return }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw SIPTransportError(detail: "condition not met within 10 s")
    }
}
