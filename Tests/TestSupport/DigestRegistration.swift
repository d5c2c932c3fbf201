import Phone
import SIPCore
import SIPStack
import SIPTransport

/// REGISTERs as a test user agent sends them, and the 401 round trip, for tests.
public enum DigestRegistration {
    /// A REGISTER for `sip:USER@example.com` with a Contact at `contactHost`.
    public static func request(user: String, transport: SIPTransportKind, cseq: Int, contactHost: String = "192.0.2.20",
                               callID: String? = nil, authorization: String? = nil) -> SIPMessage {
        var message = try! SIPParser.parse("""
            REGISTER sip:example.com SIP/2.0\r
            Via: SIP/2.0/\(transport.viaName) \(contactHost):5999;branch=z9hG4bK-reg-\(user)-\(transport)-\(cseq);rport\r
            Max-Forwards: 70\r
            From: <sip:\(user)@example.com>;tag=r-\(user)\r
            To: <sip:\(user)@example.com>\r
            Call-ID: \(callID ?? "reg-\(user)-\(transport)")\r
            CSeq: \(cseq) REGISTER\r
            Contact: <sip:\(user)@\(contactHost):5999;transport=\(transport)>\r
            Content-Length: 0\r
            \r

            """)
        if let authorization { message.headers.append(.authorization, authorization) }
        return message
    }

    /// Sends `build(cseq, nil)`, answers a 401 with digest using `build(cseq + 1, authorization)`
    /// and returns the final response (the first one when it was not a 401).
    public static func register(_ stack: SIPStack, on flow: Flow, user: String, password: String, cseq: Int = 1,
                                build: (Int, String?) -> SIPMessage) async throws -> SIPMessage {
        let challenge = try await stack.send(request: build(cseq, nil), on: flow)
        guard challenge.statusLine?.statusCode == 401,
              let authorization = DigestClient.authorization(for: build(cseq + 1, nil), challenges: challenge.headers.lines(.wwwAuthenticate),
                                                             username: user, password: password)
        else { return challenge }
        return try await stack.send(request: build(cseq + 1, authorization), on: flow)
    }

    /// ``register(_:on:user:password:cseq:build:)`` with ``request(user:transport:cseq:contactHost:callID:authorization:)``.
    public static func register(_ stack: SIPStack, on flow: Flow, user: String, password: String, cseq: Int = 1,
                                contactHost: String = "192.0.2.20") async throws -> SIPMessage {
        try await register(stack, on: flow, user: user, password: password, cseq: cseq) { cseq, authorization in
            request(user: user, transport: flow.transport, cseq: cseq, contactHost: contactHost, authorization: authorization)
        }
    }
}
