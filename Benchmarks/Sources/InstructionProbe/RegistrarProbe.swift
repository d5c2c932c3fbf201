import Location
import NIOCore
import Phone
import Registrar
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport

/// One digest registration as the registrar handles it, apart from I/O and the transaction layer:
/// SIPp's REGISTER parsed, validated and stamped, answered 401 by the registrar's state machine;
/// the REGISTER with credentials parsed, validated, stamped and checked by the machine, the
/// binding stored in memory through its `updateBindings` action, and the 200 OK with the Contact
/// written.
struct RegistrarProbe {
    let authenticator = DigestAuthenticator(realm: "example.com", algorithms: [.md5], secret: Array(repeating: 9, count: 32))
    let account = DigestAuthenticator.account(username: "user0001", realm: "example.com", password: "pw0001")
    let store = InMemoryLocationStore()
    let now: Int64 = 1_800_000_000_000
    let flow = Flow(transport: .tcp, local: try! SocketAddress(ipAddress: "127.0.0.1", port: 5060),
                    remote: try! SocketAddress(ipAddress: "127.0.0.1", port: 40_123), connectionID: 1)
    let first: ByteBuffer
    let second: ByteBuffer
    /// The registrar with user0001's account read already, as during a burst of REGISTERs.
    let machine: RegistrarStateMachine

    init() throws {
        first = ByteBuffer(string: Self.register(cseq: 1, authorization: nil))
        let challenge = authenticator.challenges(now: now)[0]
        let unsigned = try SIPParser.parse(Self.register(cseq: 2, authorization: nil))
        let authorization = DigestClient.authorization(for: unsigned, challenges: [Substring(challenge)], username: "user0001",
                                                       password: "pw0001", cnonce: "0a4f113b")
        second = ByteBuffer(string: Self.register(cseq: 2, authorization: authorization))
        var machine = RegistrarStateMachine(configuration: .init(domain: "example.com", digestAlgorithms: [.md5]),
                                            authenticator: authenticator, tokens: .seeded(1))
        let signed = try SIPParser.parse(Self.register(cseq: 2, authorization: authorization))
        guard case .lookUpAccount(_, _, let pending)? = machine.requestReceived(signed, flow: flow, now: now).first else {
            throw ProbeError()
        }
        _ = machine.accountLoaded(account, for: pending, now: now)
        self.machine = machine
    }

    struct ProbeError: Error {}

    static func register(cseq: Int, authorization: String?) -> String {
        """
        REGISTER sip:example.com SIP/2.0\r
        Via: SIP/2.0/TCP 127.0.0.1:40123;branch=z9hG4bK-1234-\(cseq)-0;rport\r
        Max-Forwards: 70\r
        From: <sip:user0001@example.com>;tag=4321SIPpTag001\r
        To: <sip:user0001@example.com>\r
        Call-ID: 1-4321@127.0.0.1\r
        CSeq: \(cseq) REGISTER\r
        Contact: <sip:user0001@127.0.0.1:40123;transport=TCP>\r
        \(authorization.map { "Authorization: \($0)\r\n" } ?? "")Expires: 120\r
        Content-Length: 0\r
        \r

        """
    }

    /// Both messages of one registration; returns a checksum so nothing is optimised away.
    /// With `metrics`, each message is also counted as the transport counts it (two in, two out).
    func registration(into buffer: inout ByteBuffer, options: SIPMessage.ValidationOptions, metrics: TransportMetrics? = nil) throws -> Int {
        var machine = self.machine
        var challenged = try SIPParser.parseDatagram(first)
        _ = try challenged.validateKeepingViews(options)
        challenged.stampReceived(host: "127.0.0.1", port: 40_123)
        metrics?.received(challenged)
        guard case .respond(let challenge)? = machine.requestReceived(challenged, flow: flow, now: now).first,
              challenge.statusLine?.statusCode == 401 else { return 0 }
        buffer.clear()
        challenge.write(to: &buffer)
        metrics?.sent(buffer)

        var request = try SIPParser.parseDatagram(second)
        _ = try request.validateKeepingViews(options)
        request.stampReceived(host: "127.0.0.1", port: 40_123)
        metrics?.received(request)
        guard case .updateBindings(let aor, let update, let pending)? = machine.requestReceived(request, flow: flow, now: now).first else {
            return 0
        }
        let result = Result { try store.updateNow(aor: aor, update) }
        guard case .respond(let ok)? = machine.bindingsUpdated(result, for: pending).first, ok.statusLine?.statusCode == 200 else {
            return 0
        }
        buffer.clear()
        ok.write(to: &buffer)
        metrics?.sent(buffer)
        // The same REGISTER is accepted again next time (its CSeq would be out of order otherwise).
        try store.updateNow(aor: aor) { $0.removeAll() }
        return buffer.readableBytes
    }
}
