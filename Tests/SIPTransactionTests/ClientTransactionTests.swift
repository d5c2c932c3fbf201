import SIPCore
import Testing
@testable import SIPTransaction

/// RFC 3261 Figures 5 and 6 (with RFC 6026) in virtual time, default timers (T1 500 ms, T2 4 s).
@Suite("Client transactions")
struct ClientTransactionTests {
    let invite = Messages.request("INVITE")
    let options = Messages.request("OPTIONS")

    @Test func inviteOverUDPRetransmitsOnTimerAUntilTimerB() {
        var timeline = VirtualTimeline(InviteClientTransaction(request: invite, reliability: .unreliable))
        timeline.perform { $0.start() }
        timeline.run(until: .seconds(60))
        // Timer A doubles without bound: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 — 7 in all
        // before Timer B (64·T1 = 32 s).
        #expect(timeline.sendTimes == [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5])
        #expect(timeline.events == ["timeout"])
        #expect(timeline.terminatedAt == .seconds(32))
    }

    @Test func inviteOverTCPSendsOnceAndTimesOutAtTimerB() {
        var timeline = VirtualTimeline(InviteClientTransaction(request: invite, reliability: .reliable))
        timeline.perform { $0.start() }
        timeline.run(until: .seconds(60))
        #expect(timeline.sendTimes == [0])
        #expect(timeline.terminatedAt == .seconds(32))
    }

    @Test func provisionalStopsTimerAButNotTimerB() {
        var timeline = VirtualTimeline(InviteClientTransaction(request: invite, reliability: .unreliable))
        timeline.perform { $0.start() }
        timeline.run(until: .seconds(1))
        timeline.perform { $0.receive(response: Messages.response(180, to: invite)) }
        timeline.run(until: .seconds(60))
        #expect(timeline.sendTimes == [0, 0.5])
        #expect(timeline.delivered.map { $0.statusLine?.statusCode } == [180])
        #expect(timeline.events.isEmpty)
    }

    @Test func successGoesToAcceptedAndPassesRetransmittedOKsUntilTimerM() {
        var timeline = VirtualTimeline(InviteClientTransaction(request: invite, reliability: .unreliable))
        timeline.perform { $0.start() }
        let ok = Messages.response(200, to: invite)
        timeline.perform { $0.receive(response: ok) }
        timeline.run(until: .seconds(10))
        timeline.perform { $0.receive(response: ok) }
        timeline.run(until: .seconds(60))
        // RFC 6026: both 200s reach the TU, no ACK from the transaction, ends at Timer M (32 s).
        #expect(timeline.delivered.count == 2)
        #expect(timeline.sent.count == 1)
        #expect(timeline.terminatedAt == .seconds(32))
    }

    @Test func failureIsAcknowledgedByTheTransactionAndAgainOnRetransmission() throws {
        var timeline = VirtualTimeline(InviteClientTransaction(request: invite, reliability: .unreliable))
        timeline.perform { $0.start() }
        let busy = Messages.response(486, to: invite)
        timeline.perform { $0.receive(response: busy) }
        timeline.perform { $0.receive(response: busy) }
        timeline.run(until: .seconds(60))
        #expect(timeline.delivered.count == 1)
        let acks = timeline.sent.dropFirst().map(\.message)
        #expect(acks.count == 2)
        let ack = try #require(acks.first)
        #expect(ack.requestLine?.method == "ACK" && ack.requestLine?.uri == invite.requestLine?.uri)
        #expect(try ack.cseq() == CSeq(sequence: 7, method: "ACK"))
        #expect(try ack.to().parameters["tag"] == "b2")
        #expect(try ack.topVia().branch == "z9hG4bKtest1")
        #expect(ack.headers.lines(.route) == ["<sip:proxy.example.com;lr>"])
        // Timer D: 32 s on UDP.
        #expect(timeline.terminatedAt == .seconds(32))
    }

    @Test func failureOverTCPEndsAtOnceWithTimerDZero() {
        var timeline = VirtualTimeline(InviteClientTransaction(request: invite, reliability: .reliable))
        timeline.perform { $0.start() }
        timeline.perform { $0.receive(response: Messages.response(503, to: invite)) }
        timeline.run(until: .seconds(1))
        #expect(timeline.terminatedAt == .zero)
    }

    @Test func nonInviteOverUDPRetransmitsUpToT2UntilTimerF() {
        var timeline = VirtualTimeline(NonInviteClientTransaction(request: options, reliability: .unreliable))
        timeline.perform { $0.start() }
        timeline.run(until: .seconds(60))
        // Timer E doubles up to T2 = 4 s: 0, 0.5, 1.5, 3.5, 7.5, then every 4 s until Timer F at 32 s.
        #expect(timeline.sendTimes == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5])
        #expect(timeline.events == ["timeout"])
        #expect(timeline.terminatedAt == .seconds(32))
    }

    @Test func nonInviteProceedingRetransmitsEveryT2() {
        var timeline = VirtualTimeline(NonInviteClientTransaction(request: options, reliability: .unreliable))
        timeline.perform { $0.start() }
        timeline.perform { $0.receive(response: Messages.response(100, to: options)) }
        timeline.run(until: .seconds(10))
        // In Proceeding, Timer E fires at T1 and then every T2.
        #expect(timeline.sendTimes == [0, 0.5, 4.5, 8.5])
    }

    @Test func nonInviteFinalWaitsTimerKThenEnds() {
        var timeline = VirtualTimeline(NonInviteClientTransaction(request: options, reliability: .unreliable))
        timeline.perform { $0.start() }
        let ok = Messages.response(200, to: options)
        timeline.perform { $0.receive(response: ok) }
        timeline.perform { $0.receive(response: ok) }
        timeline.run(until: .seconds(60))
        #expect(timeline.delivered.count == 1)
        #expect(timeline.terminatedAt == .seconds(5))
    }

    @Test func nonInviteOverTCPEndsOnTheFinalResponse() {
        var timeline = VirtualTimeline(NonInviteClientTransaction(request: options, reliability: .reliable))
        timeline.perform { $0.start() }
        timeline.run(until: .seconds(2))
        timeline.perform { $0.receive(response: Messages.response(404, to: options)) }
        #expect(timeline.sendTimes == [0])
        #expect(timeline.terminatedAt == .seconds(2))
    }

    @Test func transportErrorIsReported() {
        var timeline = VirtualTimeline(NonInviteClientTransaction(request: options, reliability: .reliable))
        timeline.perform { $0.start() }
        timeline.perform { $0.transportFailed() }
        #expect(timeline.events == ["transport error"])
        #expect(timeline.terminatedAt == .zero)
    }
}
