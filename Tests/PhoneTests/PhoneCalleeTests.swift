import Foundation
import NIOCore
import NIOPosix
import Phone
import SIPCore
import SIPStack
import SIPTransport
import Testing
import TestSupport

/// The phone as callee follows its dialog (RFC 3261 §9.2, §12.2.2, §14.2, §15.1.2), against an
/// edge this test scripts: a CANCEL after the answer changes nothing, a re-INVITE is answered
/// finally within the call, and a BYE for no dialog gets 481.
@Suite("Phone as callee", .serialized)
struct PhoneCalleeTests {
    typealias Edge = PhoneChallengeTests.ScriptedEdge

    /// A request from bob's side to the phone, in the call `callID`.
    static func request(_ method: String, callID: String, cseq: Int, branch: String, toTag: String? = nil,
                        sdp: String? = nil) throws -> SIPMessage {
        var message = try SIPParser.parse("""
            \(method) sip:alice@192.0.2.20:5061;transport=tls SIP/2.0\r
            Via: SIP/2.0/TLS 127.0.0.1:5061;branch=\(branch)\r
            Max-Forwards: 70\r
            From: <sip:bob@example.com>;tag=bob1\r
            To: <sip:alice@example.com>\(toTag.map { ";tag=\($0)" } ?? "")\r
            Call-ID: \(callID)\r
            CSeq: \(cseq) \(method)\r
            Contact: <sip:bob@192.0.2.30:5061;transport=tls>\r
            Content-Length: 0\r
            \r

            """)
        if let sdp { message.setBody(ByteBuffer(string: sdp), contentType: "application/sdp") }
        return message
    }

    @Test func theDialogSurvivesACancelAfterTheAnswerAndAReInviteAndUnknownDialogsGet481() async throws {
        let edge = try await Edge(script: PhoneChallengeTests.registerScript)
        let alice = try SoftPhone(configuration: .init(user: "alice", password: "pw", domain: "example.com", edges: [edge.address],
                                                       trustedCAPEM: edge.caPEM), group: MultiThreadedEventLoopGroup.singleton)
        let incoming = LockedBox(0)
        Task { for await event in alice.events { if case .call(_, .incoming) = event { incoming.mutate { $0 += 1 } } } }
        alice.start()
        try await eventually("registered") { alice.registeredEdge == edge.address }
        let flow = try #require(edge.flow.read { $0 })

        let invite = try Self.request("INVITE", callID: "in-1", cseq: 1, branch: "z9hG4bK-inv1", sdp: "v=0\r\n")
        let answered = Task { try await edge.stack.send(request: invite, on: flow) }
        try await eventually("alice rings") { alice.activeCalls == ["in-1"] }
        alice.answer("in-1")
        let ok = try await answered.value
        #expect(ok.statusLine?.statusCode == 200)
        let tag = try #require(try ok.to().parameters["tag"].map(String.init))
        edge.stack.sendStateless(try Self.request("ACK", callID: "in-1", cseq: 1, branch: "z9hG4bK-ack1", toTag: tag), on: flow)

        let cancel = try Self.request("CANCEL", callID: "in-1", cseq: 1, branch: "z9hG4bK-inv1")
        #expect(try await edge.stack.send(request: cancel, on: flow).statusLine?.statusCode == 200, "§9.2: 200 to the CANCEL")
        #expect(alice.activeCalls == ["in-1"], "the answered call stays")

        let provisional = LockedBox<[Int]>([])
        let reInvite = try Self.request("INVITE", callID: "in-1", cseq: 2, branch: "z9hG4bK-inv2", toTag: tag, sdp: "v=0\r\n")
        let reAnswer = try await edge.stack.send(request: reInvite, on: flow) { response in
            provisional.mutate { $0.append(response.statusLine?.statusCode ?? 0) }
        }
        #expect(reAnswer.statusLine?.statusCode == 200, "§14.2: a final answer within the dialog")
        #expect(!provisional.read { $0 }.contains(180), "no ringing for a re-INVITE")
        #expect(incoming.read { $0 } == 1, "not a new incoming call")
        edge.stack.sendStateless(try Self.request("ACK", callID: "in-1", cseq: 2, branch: "z9hG4bK-ack2", toTag: tag), on: flow)

        let stray = try Self.request("BYE", callID: "no-such-call", cseq: 3, branch: "z9hG4bK-bye0", toTag: "x")
        #expect(try await edge.stack.send(request: stray, on: flow).statusLine?.statusCode == 481, "§15.1.2")
        #expect(edge.requests("BYE").isEmpty, "the phone sent no BYE")

        let bye = try Self.request("BYE", callID: "in-1", cseq: 3, branch: "z9hG4bK-bye1", toTag: tag)
        #expect(try await edge.stack.send(request: bye, on: flow).statusLine?.statusCode == 200)
        try await eventually("the call ended") { alice.activeCalls.isEmpty }
        await alice.stop()
        await edge.stack.transport.shutdown()
    }
}
