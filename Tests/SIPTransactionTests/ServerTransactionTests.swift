import SIPCore
import Testing
@testable import SIPTransaction

/// RFC 3261 Figures 7 and 8 (with RFC 6026) in virtual time, default timers.
@Suite("Server transactions")
struct ServerTransactionTests {
    let invite = Messages.request("INVITE")
    let register = Messages.request("REGISTER")

    @Test func inviteIsAnsweredWith100AndRetransmissionsGetTheLastProvisional() {
        var timeline = VirtualTimeline(InviteServerTransaction(reliability: .unreliable))
        timeline.perform { $0.receive(request: invite) }
        #expect(timeline.sent.map { $0.message.statusLine?.statusCode } == [100])
        #expect(timeline.delivered.count == 1)
        timeline.perform { $0.send(response: Messages.response(180, to: invite)) }
        timeline.perform { $0.receive(request: invite) }
        #expect(timeline.sent.map { $0.message.statusLine?.statusCode } == [100, 180, 180])
        #expect(timeline.delivered.count == 1)
    }

    @Test func failureIsRetransmittedOnTimerGUntilTimerH() {
        var timeline = VirtualTimeline(InviteServerTransaction(reliability: .unreliable))
        timeline.perform { $0.receive(request: invite) }
        timeline.perform { $0.send(response: Messages.response(486, to: invite)) }
        timeline.run(until: .seconds(60))
        let finals = timeline.sent.filter { $0.message.statusLine?.statusCode == 486 }
        // Timer G doubles up to T2; Timer H ends it at 64·T1 without an ACK.
        #expect(finals.map { Double($0.at.components.seconds) + Double($0.at.components.attoseconds) / 1e18 }
            == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5])
        #expect(timeline.events == ["timeout"])
        #expect(timeline.terminatedAt == .seconds(32))
    }

    @Test func ackConfirmsAndTimerIEnds() {
        var timeline = VirtualTimeline(InviteServerTransaction(reliability: .unreliable))
        timeline.perform { $0.receive(request: invite) }
        timeline.perform { $0.send(response: Messages.response(486, to: invite)) }
        timeline.run(until: .seconds(2))
        timeline.perform { $0.receive(request: Messages.request("ACK")) }
        timeline.run(until: .seconds(60))
        #expect(timeline.sent.count == 4)  // 100, 486 at 0, 0.5 and 1.5
        #expect(timeline.events.isEmpty)
        #expect(timeline.terminatedAt == .seconds(2) + .seconds(5))
    }

    @Test func successGoesToAcceptedWhereACKsReachTheTUUntilTimerL() {
        var timeline = VirtualTimeline(InviteServerTransaction(reliability: .unreliable))
        timeline.perform { $0.receive(request: invite) }
        let ok = Messages.response(200, to: invite)
        timeline.perform { $0.send(response: ok) }
        timeline.perform { $0.receive(request: invite) }
        timeline.perform { $0.send(response: ok) }
        timeline.perform { $0.receive(request: Messages.request("ACK")) }
        timeline.run(until: .seconds(60))
        #expect(timeline.sent.map { $0.message.statusLine?.statusCode } == [100, 200, 200])
        #expect(timeline.delivered.map { $0.requestLine?.method } == ["INVITE", "ACK"])
        #expect(timeline.terminatedAt == .seconds(32))
    }

    @Test func nonInviteRetransmissionsGetTheFinalUntilTimerJ() {
        var timeline = VirtualTimeline(NonInviteServerTransaction(reliability: .unreliable))
        timeline.perform { $0.receive(request: register) }
        timeline.perform { $0.receive(request: register) }
        #expect(timeline.sent.isEmpty)
        timeline.perform { $0.send(response: Messages.response(200, to: register)) }
        timeline.run(until: .seconds(3))
        timeline.perform { $0.receive(request: register) }
        timeline.run(until: .seconds(60))
        #expect(timeline.sent.count == 2)
        #expect(timeline.delivered.count == 1)
        #expect(timeline.terminatedAt == .seconds(32))
    }

    @Test func nonInviteOverTCPEndsWithTheFinal() {
        var timeline = VirtualTimeline(NonInviteServerTransaction(reliability: .reliable))
        timeline.perform { $0.receive(request: register) }
        timeline.perform { $0.send(response: Messages.response(100, to: register)) }
        timeline.perform { $0.receive(request: register) }
        timeline.perform { $0.send(response: Messages.response(401, to: register)) }
        #expect(timeline.sent.map { $0.message.statusLine?.statusCode } == [100, 100, 401])
        #expect(timeline.terminatedAt == .zero)
    }

    @Test func responsesCarryTheRequestHeadersAndAToTag() throws {
        let response = Messages.response(200, to: register)
        #expect(try response.to().parameters["tag"] == "b2")
        #expect(try response.topVia().branch == "z9hG4bKtest1")
        #expect(response.callID == "call-1@192.0.2.10")
        #expect(try response.cseq() == CSeq(sequence: 7, method: "REGISTER"))
        let trying = SIPResponseBuilder.response(to: register, statusCode: 100, reasonPhrase: "Trying", toTag: "x")
        #expect(try trying.to().parameters["tag"] == nil)
    }
}
