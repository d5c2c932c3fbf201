import NIOCore
import Proxy
import SIPCore
import Testing
import TestSupport

/// The edge's and core's message steps, one input, one expectation.
@Suite("Proxy steps")
struct ProxyStepTests {
    @Test func aFlowTokenVerifiesAndAForgedOneDoesNot() {
        let signer = FlowTokenSigner(key: Array(repeating: 7, count: 32))
        let token = signer.token(for: 42)
        #expect(signer.verify(token) == .valid(connectionID: 42))
        #expect(signer.verify(token.replacingOccurrences(of: "f2a", with: "f2b")) == .forged)
        #expect(FlowTokenSigner(key: Array(repeating: 8, count: 32)).verify(token) == .forged, "another edge's key")
        #expect(signer.verify("garbage") == .forged)
    }

    @Test func aRewrittenContactRestoresToThePhonesOwn() throws {
        let phone = try SIPURI(parsing: "sip:alice@192.0.2.10:58980;transport=tls")
        let core = try SocketAddress(ipAddress: "127.0.0.1", port: 5070)
        let rewritten = ContactRewrite.rewrite(phone, core: core, transport: .tcp, edge: "edge-1", token: "f1.abc")
        #expect(rewritten.host == "127.0.0.1")
        #expect(rewritten.port == 5070)
        #expect(rewritten.parameters["orig-hostport"] == "192.0.2.10:58980")
        #expect(rewritten.parameters["transport"] == "tcp")
        let restored = try #require(ContactRewrite.restore(try SIPURI(parsing: rewritten.description)))
        #expect(restored.uri.description == phone.description)
        #expect(restored.edge == "edge-1")
        #expect(restored.token == "f1.abc")
        #expect(ContactRewrite.restore(phone) == nil)
    }

    @Test func traversalInformationSurvivesTheHeader() {
        let info = TraversalInfo(node: "core-1", keepaliveEnabled: true, maintenance: false,
                                 registrars: ["registrar-1": true, "registrar-2": false], heartbeatMilliseconds: 5_000)
        var message = SIPMessage.request(method: "OPTIONS", uri: "sip:traversal@127.0.0.1")
        message.headers.append(TraversalInfo.header, info.headerValue)
        #expect(TraversalInfo(message) == info)
        #expect(TraversalInfo(SIPMessage.request(method: "OPTIONS", uri: "sip:x@y")) == nil)
    }

    @Test func theAcceptanceIsRemovedAndOtherTagsKept() throws {
        var ok = SIPMessage.response(statusCode: 200, reasonPhrase: "OK")
        ok.headers.append(.supported, "path, X-cisco-supports-AR_SK")
        #expect(ARSK.accepted(in: ok))
        let stripped = ARSK.withoutAcceptance(ok)
        #expect(!ARSK.accepted(in: stripped))
        #expect(stripped.optionTags(.supported) == ["path"])
        let register = try SIPParser.parse(MRAFixtures.register)
        #expect(ARSK.offered(in: register))
    }
}
