import Phone
import Foundation
import Location
import NIOCore
import NIOPosix
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import STUNCore
import Testing
import TestSupport
@testable import Registrar

/// The registrar on real loopback sockets, in this process: digest over UDP, TCP and TLS, the
/// refusals, and STUN on its connections.
@Suite("Registrar on loopback")
struct RegistrarServiceTests {
    static let certificates = try! LabCertificates.generate()

    struct Setup {
        let registrar: RegistrarService
        let server: SIPStack
        let client: SIPStack
        let locations: InMemoryLocationStore
        let addresses: [SIPTransportKind: SocketAddress]
    }

    func start() async throws -> Setup {
        let locations = InMemoryLocationStore()
        let accounts = InMemoryAccountStore()
        await accounts.save(DigestAuthenticator.account(username: "alice", realm: "example.com", password: "secret"))
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton,
                              transportConfiguration: .init(tlsServer: try Self.certificates.serverContext()))
        let registrar = RegistrarService(stack: server, locations: locations, accounts: accounts,
                                         configuration: .init(domain: "example.com"),
                                         clock: { Int64(Date().timeIntervalSince1970 * 1000) })
        var addresses: [SIPTransportKind: SocketAddress] = [:]
        for kind in SIPTransportKind.allCases {
            addresses[kind] = try await server.transport.listen(kind, host: "127.0.0.1", port: 0)
        }
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton,
                              transportConfiguration: .init(tlsClient: try Self.certificates.clientContext()))
        _ = try await client.transport.listen(.udp, host: "127.0.0.1", port: 0)
        return Setup(registrar: registrar, server: server, client: client, locations: locations, addresses: addresses)
    }

    func register(_ transport: SIPTransportKind, cseq: Int, authorization: String? = nil) -> SIPMessage {
        var message = try! SIPParser.parse(MRAFixtures.register
            .replacingOccurrences(of: "SIP/2.0/TLS", with: "SIP/2.0/\(transport.viaName)")
            .replacingOccurrences(of: "z9hG4bK3f7a1c2b9d", with: "z9hG4bK\(transport)\(cseq)")
            .replacingOccurrences(of: "CSeq: 101", with: "CSeq: \(cseq)"))
        if let authorization { message.headers.append(.authorization, authorization) }
        return message
    }

    @Test(arguments: SIPTransportKind.allCases)
    func registerWithDigest(transport: SIPTransportKind) async throws {
        let setup = try await start()
        let flow = try await setup.client.transport.connect(transport, to: setup.addresses[transport]!, serverHostname: "localhost")
        let challenge = try await setup.client.send(request: register(transport, cseq: 1), on: flow)
        #expect(challenge.statusLine?.statusCode == 401)
        let offers = challenge.headers.lines(.wwwAuthenticate)
        #expect(offers.count == 2 && offers[0].contains("algorithm=SHA-256") && offers[1].contains("algorithm=MD5"))
        for (index, offer) in offers.enumerated() {
            let request = register(transport, cseq: 2 + index)
            let authorization = DigestClient.authorization(for: request, challenges: [offer], username: "alice", password: "secret")
            let ok = try await setup.client.send(request: register(transport, cseq: 2 + index, authorization: authorization), on: flow)
            #expect(ok.statusLine?.statusCode == 200, "algorithm \(index)")
            let contact = try #require(try ok.contacts().first)
            #expect(contact.parameters["expires"] == "120")
            #expect(contact.parameters.contains("x-cisco-newreg") == (index == 0))
            #expect(ok.headers.lines(.supported).contains("X-cisco-supports-AR_SK"), "the phone offered x-cisco-mra-ha=AR_SK")
        }
        #expect(try await setup.locations.bindings(for: "sip:alice@example.com").count == 1)
        await setup.client.transport.shutdown()
        await setup.server.transport.shutdown()
    }

    @Test func aWrongPasswordIsForbiddenAndBindsNothing() async throws {
        let setup = try await start()
        let flow = try await setup.client.transport.connect(.tcp, to: setup.addresses[.tcp]!)
        let challenge = try await setup.client.send(request: register(.tcp, cseq: 1), on: flow)
        let offer = try #require(challenge.headers.lines(.wwwAuthenticate).first)
        let request = register(.tcp, cseq: 2)
        let authorization = DigestClient.authorization(for: request, challenges: [offer], username: "alice", password: "wrong")
        let refused = try await setup.client.send(request: register(.tcp, cseq: 2, authorization: authorization), on: flow)
        #expect(refused.statusLine?.statusCode == 403)
        #expect(try await setup.locations.count() == 0)
        await setup.client.transport.shutdown()
        await setup.server.transport.shutdown()
    }

    @Test func stunOnTheTLSConnectionGetsTheMappedAddressAndUnknownAttributesGet420() async throws {
        let setup = try await start()
        let recorder = STUNAnswers()
        let phone = SIPTransportLayer(group: MultiThreadedEventLoopGroup.singleton,
                                      configuration: .init(tlsClient: try Self.certificates.clientContext()),
                                      onEvent: recorder.record)
        let flow = try await phone.connect(.tls, to: setup.addresses[.tls]!, serverHostname: "localhost")
        let request = STUNMessage.bindingRequest()
        try await phone.send(ByteBuffer(bytes: request.encode()), on: flow)
        let success = try await recorder.answer(to: request.transactionID)
        #expect(success.type == .bindingSuccess)
        #expect(success.mappedAddress?.port == UInt16(flow.local.port!))
        #expect(success.mappedAddress?.host == "127.0.0.1")
        var strange = STUNMessage.bindingRequest()
        strange.attributes.append(STUNAttribute(type: STUNAttributeType(0x7F10), value: [1, 2, 3, 4]))
        try await phone.send(ByteBuffer(bytes: strange.encode()), on: flow)
        let error = try await recorder.answer(to: strange.transactionID)
        #expect(error.type == .bindingError && error.errorCode?.code == 420)
        #expect(error.attribute(.unknownAttributes)?.unknownAttributeTypes == [STUNAttributeType(0x7F10)])
        await phone.shutdown()
        await setup.server.transport.shutdown()
    }
}
