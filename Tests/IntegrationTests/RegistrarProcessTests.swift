import Foundation
import NIOCore
import NIOPosix
import SIPCore
import SIPStack
import SIPTransport
import STUNCore
import Testing
import TestSupport

/// The registrar as its own process (`edgeway serve --role registrar`), driven over real sockets
/// on 127.0.0.1: digest REGISTER on UDP, TCP and TLS, a kill -9 and a restart with bindings and
/// users intact, STUN on its TLS connection.
@Suite("Registrar process", .serialized)
struct RegistrarProcessTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-registrar-\(UUID().uuidString)")

    func writeConfiguration() throws -> String {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("registrar.yaml").path
        try """
            domain: example.com
            data: \(folder.appendingPathComponent("data").path)
            listen:
              udp: 127.0.0.1:0
              tcp: 127.0.0.1:0
              tls: 127.0.0.1:0
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func registerWithDigest(_ client: SIPStack, flow: Flow, transport: SIPTransportKind, user: String, password: String,
                            cseq: Int) async throws -> SIPMessage {
        try await DigestRegistration.register(client, on: flow, user: user, password: password, cseq: cseq,
                                              contactHost: "192.0.2.10")
    }

    @Test func registersOverEveryTransportAndKeepsBindingsAcrossAKill() async throws {
        let config = try writeConfiguration()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try await EdgewayProcess.run(["users", "add", "alice", "--password", "secret", "--config", config]).status == 0)
        #expect(try await EdgewayProcess.run(["users", "add", "bob", "--password", "hunter2", "--config", config]).status == 0)
        var registrar = try EdgewayProcess(["serve", "--role", "registrar", "--config", config])
        var addresses = try await registrar.readyAddresses()
        let ca = try String(contentsOf: folder.appendingPathComponent("data/tls/ca.pem"), encoding: .utf8)
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton,
                              transportConfiguration: .init(tlsClient: try SIPTLS.clientContext(trustedCAPEM: ca)))
        _ = try await client.transport.listen(.udp, host: "127.0.0.1", port: 0)
        for transport in SIPTransportKind.allCases {
            let flow = try await client.transport.connect(transport, to: addresses[transport]!, serverHostname: "localhost")
            let ok = try await registerWithDigest(client, flow: flow, transport: transport, user: "alice", password: "secret", cseq: 1)
            #expect(ok.statusLine?.statusCode == 200, "REGISTER over \(transport)")
        }
        let wrong = try await client.transport.connect(.tcp, to: addresses[.tcp]!)
        let refused = try await registerWithDigest(client, flow: wrong, transport: .tcp, user: "bob", password: "nope", cseq: 1)
        #expect(refused.statusLine?.statusCode == 403)

        // STUN on the TLS connection the phone registered on.
        let tlsFlow = try await client.transport.connect(.tls, to: addresses[.tls]!, serverHostname: "localhost")
        let recorder = STUNAnswers()
        client.setHandlers(onRequest: { _ in }, onTransportEvent: recorder.record)
        let binding = STUNMessage.bindingRequest()
        try await client.transport.send(ByteBuffer(bytes: binding.encode()), on: tlsFlow)
        let answer = try await recorder.answer(to: binding.transactionID)
        #expect(answer.mappedAddress == STUNAddress(address: [127, 0, 0, 1], port: UInt16(tlsFlow.local.port!)))

        // kill -9, restart: bindings and users are still there.
        try await registrar.stop(signal: SIGKILL)
        await client.transport.shutdown()
        registrar = try EdgewayProcess(["serve", "--role", "registrar", "--config", config])
        addresses = try await registrar.readyAddresses()
        let again = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        let flow = try await again.transport.connect(.tcp, to: addresses[.tcp]!)
        // A REGISTER without Contact is a query (RFC 3261 §10.2.3): it lists the bindings.
        var query = try await registerWithDigest(again, flow: flow, transport: .tcp, user: "alice", password: "secret", cseq: 10)
        if query.statusLine?.statusCode == 200 {
            query = try await queryBindings(again, flow: flow)
        }
        #expect(try query.contacts().count == 3, "three bindings (one per transport) survived the kill")
        let list = try await EdgewayProcess.run(["users", "list", "--config", config])
        #expect(list.output.contains("sip:alice@example.com") && list.output.contains("sip:bob@example.com"))
        try await registrar.stop()
        #expect(registrar.text.contains("edgeway registrar stopped"))
        await again.transport.shutdown()
    }

    /// An authenticated REGISTER without Contact.
    func queryBindings(_ client: SIPStack, flow: Flow) async throws -> SIPMessage {
        try await DigestRegistration.register(client, on: flow, user: "alice", password: "secret", cseq: 20) { cseq, authorization in
            var message = DigestRegistration.request(user: "alice", transport: .tcp, cseq: cseq, authorization: authorization)
            message.headers.remove(.contact)
            return message
        }
    }
}
