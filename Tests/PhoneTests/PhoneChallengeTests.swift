import Crypto
import Foundation
import NIOCore
import NIOPosix
import Phone
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import Testing
import TestSupport

/// The phone against an edge this test scripts (RFC 3261 §22.2, RFC 8760 §2.4): it answers the
/// topmost challenge it can, on REGISTER and on INVITE, and its ACK follows the INVITE it last sent.
@Suite("Phone challenges", .serialized)
struct PhoneChallengeTests {
    /// A TLS listener that records every request and answers with `script(request, nth of its method)`.
    final class ScriptedEdge: Sendable {
        let stack: SIPStack
        let requests = LockedBox<[SIPMessage]>([])
        /// The flow the phone's last request came on.
        let flow = LockedBox<Flow?>(nil)
        let address: String
        let caPEM: String

        init(script: @escaping @Sendable (SIPMessage, Int) -> [SIPMessage]) async throws {
            let certificates = try LabCertificates.generate()
            caPEM = certificates.caPEM
            stack = SIPStack(group: MultiThreadedEventLoopGroup.singleton,
                             transportConfiguration: .init(tlsServer: try certificates.serverContext()))
            stack.setHandlers(onRequest: { [requests, flow] incoming in
                let method = incoming.message.requestLine?.method
                requests.mutate { $0.append(incoming.message) }
                flow.mutate { $0 = incoming.flow }
                let nth = requests.read { $0.filter { $0.requestLine?.method == method }.count }
                for answer in script(incoming.message, nth) { incoming.respond(answer) }
            })
            let bound = try await stack.transport.listen(.tls, host: "127.0.0.1", port: 0)
            address = "127.0.0.1:\(bound.port!)"
        }

        func requests(_ method: String) -> [SIPMessage] {
            requests.read { $0.filter { $0.requestLine?.method == method } }
        }
    }

    static func answer(_ request: SIPMessage, _ status: Int, _ headers: [(SIPHeaderName, String)] = []) -> SIPMessage {
        var response = SIPResponseBuilder.response(to: request, statusCode: status, reasonPhrase: "Scripted", toTag: "edge")
        for (name, value) in headers { response.headers.append(name, value) }
        return response
    }

    static func md5(_ text: String) -> String { Insecure.MD5.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined() }

    /// The value of `name` in a credentials value, quotes removed.
    static func field(_ name: String, in value: Substring?) -> String? {
        value?.split(separator: ",").compactMap { part -> String? in
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].split(separator: " ").last.map(String.init) == name else { return nil }
            return pair[1].trimmingCharacters(in: ["\""])
        }.first
    }

    /// REGISTER: a challenge the phone cannot answer on top of one it can, then 200.
    static let registerScript: @Sendable (SIPMessage, Int) -> [SIPMessage] = { request, nth in
        guard request.requestLine?.method == "REGISTER" else { return [] }
        return nth == 1
            ? [answer(request, 401, [(.wwwAuthenticate, #"Digest realm="example.com", nonce="n-512", algorithm=SHA-512-256, qop="auth""#),
                                     (.wwwAuthenticate, #"Digest realm="example.com", nonce="n-md5", algorithm=MD5, qop="auth""#)])]
            : [answer(request, 200, [(.expires, "120")])]
    }

    func phone(_ edge: ScriptedEdge) throws -> SoftPhone {
        try SoftPhone(configuration: .init(user: "alice", password: "pw", domain: "example.com", edges: [edge.address],
                                           trustedCAPEM: edge.caPEM), group: MultiThreadedEventLoopGroup.singleton)
    }

    @Test func theRegisterAnswersTheTopmostChallengeWhoseAlgorithmThePhoneSupports() async throws {
        let edge = try await ScriptedEdge(script: Self.registerScript)
        let alice = try phone(edge)
        alice.start()
        try await eventually("registered") { alice.registeredEdge == edge.address }
        let answered = try #require(edge.requests("REGISTER").dropFirst().first)
        let credentials = answered.headers[.authorization]
        #expect(Self.field("algorithm", in: credentials) == "MD5")
        #expect(Self.field("nonce", in: credentials) == "n-md5")
        let ha1 = Self.md5("alice:example.com:pw"), ha2 = Self.md5("REGISTER:sip:example.com")
        let nc = try #require(Self.field("nc", in: credentials)), cnonce = try #require(Self.field("cnonce", in: credentials))
        #expect(Self.field("response", in: credentials) == Self.md5("\(ha1):n-md5:\(nc):\(cnonce):auth:\(ha2)"))
        await alice.stop()
        await edge.stack.transport.shutdown()
    }

    /// `call bob`, `call bob@example.org` and `call sip:bob@example.org` each dial one address
    /// (before, `bob@example.com` became `sip:bob@example.com@example.com`).
    @Test func aCallTargetIsAUserOrAnAddress() async throws {
        let edge = try await ScriptedEdge { request, nth in
            request.requestLine?.method == "REGISTER" ? Self.registerScript(request, nth) : [Self.answer(request, 486)]
        }
        let alice = try phone(edge)
        alice.start()
        try await eventually("registered") { alice.registeredEdge == edge.address }
        for target in ["bob", "bob@example.org", "sip:carol@example.org"] { try alice.call(target) }
        try await eventually("three INVITEs") { edge.requests("INVITE").count == 3 }
        let invites = edge.requests("INVITE")
        #expect(invites.map { $0.requestLine.map { String($0.uri) } } == ["sip:bob@example.com", "sip:bob@example.org", "sip:carol@example.org"])
        #expect(invites.map { $0.headers[.to] } == ["<sip:bob@example.com>", "<sip:bob@example.org>", "<sip:carol@example.org>"])
        await alice.stop()
        await edge.stack.transport.shutdown()
    }

    /// A local hang-up ends the call at once even when the BYE cannot be delivered (before, the
    /// phone waited out the BYE's 32 s transaction timeout).
    @Test func aHangUpEndsTheCallAtOnceWhenTheByeGoesUnanswered() async throws {
        let edge = try await ScriptedEdge { request, nth in
            switch request.requestLine?.method {
            case "REGISTER": return Self.registerScript(request, nth)
            case "INVITE": return [Self.answer(request, 200, [(.contact, "<sip:bob@192.0.2.30:5061;transport=tls>")])]
            default: return []  // the BYE is never answered
            }
        }
        let alice = try phone(edge)
        alice.start()
        try await eventually("registered") { alice.registeredEdge == edge.address }
        let call = try alice.call("bob")
        try await eventually("established") { !edge.requests("ACK").isEmpty }
        let started = ContinuousClock.now
        await alice.hangUp(call)
        #expect(ContinuousClock.now - started < .seconds(10), "not the BYE's 32 s timeout")
        #expect(alice.activeCalls.isEmpty)
        try await eventually("the BYE still went") { !edge.requests("BYE").isEmpty }
        await alice.stop()
        await edge.stack.transport.shutdown()
    }

    @Test func aChallengedInviteGoesAgainWithProxyCredentialsAndItsACKFollowsIt() async throws {
        let edge = try await ScriptedEdge { request, nth in
            switch request.requestLine?.method {
            case "REGISTER": return Self.registerScript(request, nth)
            case "INVITE" where nth == 1:
                return [Self.answer(request, 407, [(.proxyAuthenticate, #"Digest realm="example.com", nonce="inv", qop="auth""#)])]
            case "INVITE":
                return [Self.answer(request, 200, [(.contact, "<sip:bob@192.0.2.30:5061;transport=tls>")])]
            default: return [Self.answer(request, 200)]
            }
        }
        let alice = try phone(edge)
        alice.start()
        try await eventually("registered") { alice.registeredEdge == edge.address }
        try alice.call("bob")
        try await eventually("the ACK for the 2xx came") { !edge.requests("ACK").isEmpty }
        let invites = edge.requests("INVITE")
        #expect(invites.count == 2)
        #expect(invites[0].headers[.cseq] == "1 INVITE" && invites[1].headers[.cseq] == "2 INVITE")
        #expect(invites[1].callID == invites[0].callID && invites[1].headers[.from] == invites[0].headers[.from])
        #expect(invites[1].headers[.authorization] == nil)
        let credentials = invites[1].headers[.proxyAuthorization]
        #expect(Self.field("nonce", in: credentials) == "inv")
        let ha1 = Self.md5("alice:example.com:pw"), ha2 = Self.md5("INVITE:sip:bob@example.com")
        let nc = try #require(Self.field("nc", in: credentials)), cnonce = try #require(Self.field("cnonce", in: credentials))
        #expect(Self.field("response", in: credentials) == Self.md5("\(ha1):inv:\(nc):\(cnonce):auth:\(ha2)"))
        #expect(edge.requests("ACK").last?.headers[.cseq] == "2 ACK", "RFC 3261 §13.2.2.4: the ACK carries the INVITE's CSeq number")
        await alice.stop()
        await edge.stack.transport.shutdown()
    }
}
