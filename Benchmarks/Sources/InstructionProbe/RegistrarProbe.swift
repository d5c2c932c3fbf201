import Location
import NIOCore
import Phone
import Registrar
import SIPCore
import SIPTransaction

/// One digest registration as the registrar handles it, apart from I/O and the transaction layer:
/// SIPp's REGISTER parsed, validated and stamped, challenged with a 401; the REGISTER with
/// credentials parsed, validated, stamped and checked, the binding stored in memory, and the
/// 200 OK with the Contact written.
struct RegistrarProbe {
    let authenticator = DigestAuthenticator(realm: "example.com", algorithms: [.md5], secret: Array(repeating: 9, count: 32))
    let account = DigestAuthenticator.account(username: "user0001", realm: "example.com", password: "pw0001")
    let store = InMemoryLocationStore()
    let now: Int64 = 1_800_000_000_000
    let first: ByteBuffer
    let second: ByteBuffer

    init() throws {
        first = ByteBuffer(string: Self.register(cseq: 1, authorization: nil))
        let challenge = authenticator.challenges(now: now)[0]
        let unsigned = try SIPParser.parse(Self.register(cseq: 2, authorization: nil))
        let authorization = DigestClient.authorization(for: unsigned, challenge: Substring(challenge), username: "user0001",
                                                       password: "pw0001")
        second = ByteBuffer(string: Self.register(cseq: 2, authorization: authorization))
    }

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
    func registration(into buffer: inout ByteBuffer, options: SIPMessage.ValidationOptions) throws -> Int {
        var challenged = try SIPParser.parseDatagram(first)
        _ = try challenged.validateKeepingViews(options)
        challenged.stampReceived(host: "127.0.0.1", port: 40_123)
        guard authenticator.verifyNow(challenged, now: now, account: { _ in .some(account) }) == .missing else { return 0 }
        var challenge = SIPResponseBuilder.response(to: challenged, statusCode: 401, reasonPhrase: "Unauthorized",
                                                    toTag: "r1", parsedTo: try challenged.to())
        for value in authenticator.challenges(now: now) { challenge.headers.append(.wwwAuthenticate, value) }
        buffer.clear()
        challenge.write(to: &buffer)

        var request = try SIPParser.parseDatagram(second)
        _ = try request.validateKeepingViews(options)
        request.stampReceived(host: "127.0.0.1", port: 40_123)
        guard case .authenticated = authenticator.verifyNow(request, now: now, account: { _ in .some(account) }) else { return 0 }
        let policy = RegistrationPolicy()
        let stamped = request
        let decision = try store.updateNow(aor: "sip:user0001@example.com") { bindings in
            let decision = BindingRules.apply(stamped, aor: "sip:user0001@example.com", to: bindings, pathIdentity: "tcp/127.0.0.1:40123",
                                              policy: policy, now: now)
            if case .accept(let updated, _) = decision { bindings = updated }
            return decision
        }
        guard case .accept(let bindings, let newOnPath) = decision else { return 0 }
        var ok = SIPResponseBuilder.response(to: request, statusCode: 200, reasonPhrase: "OK", toTag: "r2", parsedTo: try request.to())
        for contact in BindingRules.responseContacts(bindings, newOnPath: newOnPath, now: now) { ok.headers.append(.contact, contact) }
        buffer.clear()
        ok.write(to: &buffer)
        return buffer.readableBytes
    }
}
