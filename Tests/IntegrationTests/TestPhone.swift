import NIOCore
import NIOPosix
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import STUNCore
import TestSupport

/// A soft phone for the MRA tests: registers over TLS through an edge with the AR_SK offer of
/// SPEC B3, sends STUN keepalives on that connection, answers INVITE (180, 200), BYE and OPTIONS.
final class TestPhone: Sendable {
    let user: String
    let stack: SIPStack
    let received = LockedBox<[SIPMessage]>([])
    let stun = STUNAnswers()
    let flow = LockedBox<Flow?>(nil)
    let cseq = LockedBox(0)
    /// An INVITE left ringing (when the phone does not answer), for CANCEL.
    let ringing = LockedBox<SIPStack.IncomingRequest?>(nil)
    /// The `+sip.instance` value and the reg-id (RFC 5626 §4.1): two phones given the same
    /// instance and other reg-ids are one device's two flows.
    let instance: String
    let regID: Int

    /// The digest password (`pw-USER` unless given).
    let password: String
    /// The address the phone connects from (any loopback address; the system picks otherwise).
    let source: SocketAddress?

    /// `refuseInvites` answers every INVITE with that status (and `Retry-After: 120`).
    init(user: String, caPEM: String, answerInvites: Bool = true, refuseInvites: Int? = nil, password: String? = nil,
         from source: String? = nil, instance: String? = nil, regID: Int = 1) throws {
        self.user = user
        self.instance = instance ?? "<urn:uuid:00000000-0000-4000-8000-\(String(UInt64.random(in: 1...0xFFFF_FFFF_FFFF), radix: 16))>"
        self.regID = regID
        self.password = password ?? "pw-\(user)"
        self.source = try source.map { try SocketAddress(ipAddress: $0, port: 0) }
        stack = SIPStack(group: MultiThreadedEventLoopGroup.singleton,
                         transportConfiguration: .init(tlsClient: try SIPTLS.clientContext(trustedCAPEM: caPEM)))
        stack.setHandlers(onRequest: { [received, ringing, user] request in
            received.mutate { $0.append(request.message) }
            let message = request.message
            switch message.requestLine?.method {
            case "INVITE" where refuseInvites != nil:
                var refusal = SIPResponseBuilder.response(to: message, statusCode: refuseInvites!, reasonPhrase: "Refused", toTag: "t-\(user)")
                refusal.headers.append(.retryAfter, "120")
                request.respond(refusal)
            case "INVITE" where answerInvites:
                request.respond(SIPResponseBuilder.response(to: message, statusCode: 180, reasonPhrase: "Ringing", toTag: "t-\(user)"))
                var ok = SIPResponseBuilder.response(to: message, statusCode: 200, reasonPhrase: "OK", toTag: "t-\(user)")
                ok.headers.append(.contact, "<sip:\(user)@192.0.2.20:5999;transport=tls>")
                for route in message.headers.lines(.recordRoute) { ok.headers.append(.recordRoute, route) }
                request.respond(ok)
            case "INVITE":
                request.respond(SIPResponseBuilder.response(to: message, statusCode: 180, reasonPhrase: "Ringing", toTag: "t-\(user)"))
                ringing.mutate { $0 = request }
            case "CANCEL":
                // RFC 3261 §9.2: 200 to the CANCEL, 487 to the INVITE it cancels.
                request.respond(SIPResponseBuilder.response(to: message, statusCode: 200, reasonPhrase: "OK"))
                let invite = ringing.read { $0 }
                ringing.mutate { $0 = nil }
                if let invite {
                    invite.respond(SIPResponseBuilder.response(to: invite.message, statusCode: 487, reasonPhrase: "Request Terminated", toTag: "t-\(user)"))
                }
            case "ACK":
                break
            default:
                request.respond(SIPResponseBuilder.response(to: message, statusCode: 200, reasonPhrase: "OK"))
            }
        }, onTransportEvent: stun.record)
    }

    /// The REGISTER of SPEC B3 (AR_SK offered unless `offer` is false).
    func registerRequest(cseq: Int, via flow: Flow, offer: Bool = true, authorization: String? = nil) -> SIPMessage {
        let local = ProxyHostPort.of(flow.local)
        var message = try! SIPParser.parse("""
            REGISTER sip:example.com SIP/2.0\r
            Via: SIP/2.0/TLS \(local);branch=z9hG4bK-\(user)-\(cseq)-\(UInt32.random(in: 1...UInt32.max))\r
            Max-Forwards: 70\r
            From: <sip:\(user)@example.com>;tag=f-\(user)\r
            To: <sip:\(user)@example.com>\r
            Call-ID: reg-\(user)\r
            CSeq: \(cseq) REGISTER\r
            Contact: <sip:\(user)@\(local);transport=tls>;+sip.instance="\(instance)";+u.sip!devicename.ccm.cisco.com="CSF\(user.uppercased())"\(offer ? ";x-cisco-mra-ha=AR_SK" : "");x-cisco-reg-id=\(regID)\r
            Content-Length: 0\r
            \r

            """)
        if let authorization { message.headers.append(.authorization, authorization) }
        return message
    }

    /// Registers with digest through the edge at `address` and returns the final answer.
    @discardableResult
    func register(at address: SocketAddress, offer: Bool = true) async throws -> SIPMessage {
        let flow = try await stack.transport.connect(.tls, to: address, serverHostname: "localhost", from: source)
        self.flow.mutate { $0 = flow }
        let start = cseq.read { $0 } + 1
        cseq.mutate { $0 += 2 }
        return try await DigestRegistration.register(stack, on: flow, user: user, password: password, cseq: start) { cseq, authorization in
            self.registerRequest(cseq: cseq, via: flow, offer: offer, authorization: authorization)
        }
    }

    /// Sends a STUN Binding request on the registered connection and waits up to `milliseconds` for the answer.
    func keepalive(waiting milliseconds: Int = 2_000) async throws -> STUNMessage? {
        guard let flow = flow.read({ $0 }) else { return nil }
        let binding = STUNMessage.bindingRequest()
        try await stack.transport.send(ByteBuffer(bytes: binding.encode()), on: flow)
        return await stun.answer(to: binding.transactionID, waitingMilliseconds: milliseconds)
    }

    /// An INVITE to `target` on the registered connection.
    func invite(_ target: String, callID: String) -> SIPMessage {
        let local = ProxyHostPort.of(flow.read { $0 }!.local)
        return try! SIPParser.parse("""
            INVITE sip:\(target)@example.com SIP/2.0\r
            Via: SIP/2.0/TLS \(local);branch=z9hG4bK-inv-\(UInt32.random(in: 1...UInt32.max))\r
            Max-Forwards: 70\r
            From: <sip:\(user)@example.com>;tag=f-\(user)\r
            To: <sip:\(target)@example.com>\r
            Call-ID: \(callID)\r
            CSeq: 1 INVITE\r
            Contact: <sip:\(user)@\(local);transport=tls>\r
            Content-Type: application/sdp\r
            Content-Length: 4\r
            \r
            v=0\n
            """)
    }

    /// A request in the dialog a 2xx to `invite` established: the route set is the reversed
    /// Record-Route, the target the callee's Contact (RFC 3261 §12.1.2).
    func inDialog(_ method: String, cseq: Int, after invite: SIPMessage, answer: SIPMessage) throws -> SIPMessage {
        guard let contact = try answer.contacts().first, let flow = flow.read({ $0 }) else {
            throw SIPTransportError(detail: "no dialog: the answer has no Contact or the phone no connection")
        }
        let target = contact.uri.description
        let local = ProxyHostPort.of(flow.local)
        var request = SIPMessage.request(method: method, uri: target)
        request.headers.append(.via, "SIP/2.0/TLS \(local);branch=z9hG4bK-\(method.lowercased())-\(UInt32.random(in: 1...UInt32.max))")
        request.headers.append(.maxForwards, "70")
        request.headers.append(.from, invite.headers[.from]!)
        request.headers.append(.to, answer.headers[.to]!)
        request.headers.append(.callID, invite.callID!)
        request.headers.append(.cseq, "\(cseq) \(method)")
        for route in try answer.nameAddresses(.recordRoute).reversed() { request.headers.append(.route, route.description) }
        request.headers.append(.contentLength, "0")
        return request
    }

    /// Sends `invite` on the registered connection and returns once the callee rings, with the
    /// task that ends with the final answer.
    func callUntilRinging(_ invite: SIPMessage) async throws -> Task<SIPMessage, Error> {
        let flow = try flow.read { $0 } ?? { throw SIPTransportError(detail: "\(user) is not connected") }()
        let ringing = LockedBox(false)
        let call = Task { [stack] in
            try await stack.send(request: invite, on: flow) { response in
                if response.statusLine?.statusCode == 180 { ringing.mutate { $0 = true } }
            }
        }
        try await eventually("the callee rings") { ringing.read { $0 } }
        return call
    }

    /// The requests received with this method.
    func requests(_ method: String) -> [SIPMessage] {
        received.read { $0.filter { $0.requestLine?.method == method } }
    }

    func close() async {
        await stack.transport.shutdown()
    }
}

enum ProxyHostPort {
    static func of(_ address: SocketAddress) -> String {
        "\(address.ipAddress ?? "127.0.0.1"):\(address.port ?? 0)"
    }
}
