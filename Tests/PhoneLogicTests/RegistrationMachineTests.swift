import PhoneLogic
import Testing

/// SPEC B8, B9, B14–B17 on a manual clock: one behaviour per test.
@Suite("Registration machine")
struct RegistrationMachineTests {
    typealias Machine = RegistrationMachine

    /// A phone registered through edge-1 with AR_SK accepted, at t = 1,000 ms.
    static func registered(candidates: [String] = ["edge-1", "edge-2"]) -> Machine {
        var machine = Machine(callID: "call-1", candidates: candidates, seed: 7)
        _ = machine.start(now: 0)
        _ = machine.connected(edge: candidates[0], now: 10)
        _ = machine.registerAnswered(status: 401, challenge: "Digest realm=\"example.com\"", now: 20)
        let actions = machine.registerAnswered(status: 200, expires: 120, arsk: true, now: 1_000)
        #expect(actions == [.report(.registered(edge: candidates[0], arsk: true, keepalive: .stun))])
        return machine
    }

    static func id(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: 12) }

    func probes(_ actions: [Machine.Action]) -> [[UInt8]] {
        actions.compactMap { if case .sendSTUN(let id) = $0 { id } else { nil } }
    }

    @Test func registersWithDigestThenStartsSTUNKeepalivesOnlyAfterARSK() {
        var machine = Machine(callID: "call-1", candidates: ["edge-1"], seed: 1)
        #expect(machine.start(now: 0) == [.report(.failoverStarted(from: nil, to: "edge-1")), .connect(edge: "edge-1")])
        #expect(machine.connected(edge: "edge-1", now: 5) == [.sendRegister(edge: "edge-1", cseq: 1, expires: 120, challenge: nil)])
        #expect(machine.registerAnswered(status: 401, challenge: "Digest x", now: 6)
            == [.sendRegister(edge: "edge-1", cseq: 2, expires: 120, challenge: "Digest x")])
        _ = machine.registerAnswered(status: 200, expires: 120, arsk: false, now: 10)
        #expect(machine.keepaliveMode == .none)
        #expect(probes(machine.poll(now: 60_000, newID: { Self.id(1) })).isEmpty, "no AR_SK, no STUN")
    }

    @Test func credentialsRefusedAgainStopThePhoneInsteadOfFailingEdges() {
        var machine = Machine(callID: "c", candidates: ["edge-1", "edge-2"], seed: 1)
        _ = machine.start(now: 0)
        _ = machine.connected(edge: "edge-1", now: 0)
        #expect(machine.registerAnswered(status: 401, challenge: "Digest a", now: 1).count == 1)
        #expect(machine.registerAnswered(status: 401, challenge: "Digest stale", now: 2).count == 1, "one more for a stale nonce")
        let refused = machine.registerAnswered(status: 401, challenge: "Digest b", now: 3)
        #expect(refused == [.report(.registrationRefused(status: 401)), .close(edge: "edge-1")], "the account's problem, not the edge's")
        #expect(machine.nextWakeUp == nil && machine.currentEdge == nil)
    }

    @Test func forbiddenAndOther4xxStopThePhoneWhile5xxFailTheEdge() {
        for status in [403, 404, 400, 603] {
            var machine = Machine(callID: "c", candidates: ["edge-1", "edge-2"], seed: 1)
            _ = machine.start(now: 0)
            _ = machine.connected(edge: "edge-1", now: 0)
            #expect(machine.registerAnswered(status: status, now: 1) == [.report(.registrationRefused(status: status)), .close(edge: "edge-1")])
            #expect(machine.poll(now: 3_600_000, newID: { Self.id(1) }).isEmpty, "\(status): no retry")
        }
        for status in [408, 480, 500, 503, 504] {
            var machine = Machine(callID: "c", candidates: ["edge-1", "edge-2"], seed: 1)
            _ = machine.start(now: 0)
            _ = machine.connected(edge: "edge-1", now: 0)
            #expect(machine.registerAnswered(status: status, now: 1).contains(.connect(edge: "edge-2")), "\(status): the next edge")
        }
    }

    @Test func aRefusedRefreshDuringACallWaitsForTheCallAndTheStoppedPhoneCanStartAgain() {
        var machine = Self.registered()
        machine.callStarted()
        let refresh = machine.poll(now: 1_000 + 115_000, newID: { Self.id(1) })
        #expect(refresh.contains(.sendRegister(edge: "edge-1", cseq: 3, expires: 120, challenge: nil)))
        #expect(machine.registerAnswered(status: 403, now: 116_000) == [.report(.registrationRefused(status: 403))], "the call goes on")
        #expect(machine.currentEdge == "edge-1")
        #expect(machine.callEnded(now: 200_000) == [.close(edge: "edge-1")], "stopped once the call ended")
        #expect(machine.currentEdge == nil)
        #expect(machine.start(now: 300_000).contains(.connect(edge: "edge-1")), "started again by the user")
    }

    @Test func intervalTooBriefIsRetriedAtOnceOnTheSameEdgeWithMinExpires() {
        var machine = Machine(callID: "c", candidates: ["edge-1", "edge-2"], seed: 1)
        _ = machine.start(now: 0)
        _ = machine.connected(edge: "edge-1", now: 0)
        #expect(machine.registerAnswered(status: 423, minExpires: 300, now: 1)
            == [.sendRegister(edge: "edge-1", cseq: 2, expires: 300, challenge: nil)], "RFC 3261 §10.2.8")
        _ = machine.registerAnswered(status: 200, expires: 300, arsk: true, now: 2)
        #expect(machine.currentEdge == "edge-1")
        let refresh = machine.poll(now: 2 + 295_000, newID: { Self.id(1) })
        #expect(refresh.contains(.sendRegister(edge: "edge-1", cseq: 3, expires: 300, challenge: nil)), "refreshes ask 300 too")
        var stubborn = Machine(callID: "c", candidates: ["edge-1"], seed: 1)
        _ = stubborn.start(now: 0)
        _ = stubborn.connected(edge: "edge-1", now: 0)
        #expect(stubborn.registerAnswered(status: 423, minExpires: 120, now: 1) == [.report(.registrationRefused(status: 423)), .close(edge: "edge-1")],
                "a Min-Expires not above what was asked cannot help")
    }

    @Test func serviceUnavailableWithRetryAfterMovesOnNowAndHoldsTheEdgeUntilThen() {
        var machine = Machine(callID: "c", candidates: ["edge-1", "edge-2"], seed: 1)
        _ = machine.start(now: 0)
        _ = machine.connected(edge: "edge-1", now: 0)
        let moved = machine.registerAnswered(status: 503, retryAfter: 60, reason: "Service Unavailable (location store: down)", now: 1_000)
        #expect(moved.contains(.connect(edge: "edge-2")), "the next edge now (RFC 3263 §4.3)")
        #expect(moved.contains(.report(.edgeFailed(edge: "edge-1", reason: .registerRefused(503, "Service Unavailable (location store: down)")))))
        #expect("\(FailureReasonText.of(moved))" == "REGISTER refused: 503 Service Unavailable (location store: down)", "the timeline names the reason")
        // With one edge only, the phone waits for the Retry-After, not just the backoff.
        var single = Machine(callID: "c", candidates: ["edge-1"], seed: 1)
        _ = single.start(now: 0)
        _ = single.connected(edge: "edge-1", now: 0)
        let held = single.registerAnswered(status: 503, retryAfter: 60, now: 2_000)
        guard case .report(.backingOff(let wait, _))? = held.last else {
            Issue.record("expected a backoff, got \(held)")
            return
        }
        #expect(wait >= 60_000, "held until 62 s: \(wait)")
        #expect(single.poll(now: 2_000 + wait - 1, newID: { Self.id(1) }).isEmpty)
        #expect(single.poll(now: 2_000 + wait, newID: { Self.id(1) }).contains(.connect(edge: "edge-1")))
    }

    @Test func plainOutboundGetsCRLFKeepalivesAtFlowTimerPace() {
        var machine = Machine(callID: "c", candidates: ["edge-1"], seed: 1)
        _ = machine.start(now: 0)
        _ = machine.connected(edge: "edge-1", now: 0)
        _ = machine.registerAnswered(status: 200, expires: 600, outbound: true, flowTimer: 30, now: 0)
        #expect(machine.keepaliveMode == .crlf(interval: 24_000))
        #expect(machine.poll(now: 23_999, newID: { Self.id(1) }) == [])
        #expect(machine.poll(now: 24_000, newID: { Self.id(1) }) == [.sendPing])
    }

    @Test func oneKeepalivePerIntervalAndNeverTwoOutstanding() {
        var machine = Self.registered()
        #expect(machine.nextWakeUp == 31_000)
        #expect(probes(machine.poll(now: 30_999, newID: { Self.id(1) })).isEmpty)
        #expect(probes(machine.poll(now: 31_000, newID: { Self.id(1) })) == [Self.id(1)])
        #expect(probes(machine.poll(now: 32_000, newID: { Self.id(2) })).isEmpty, "one outstanding at a time")
        #expect(machine.stunAnswered(transactionID: Self.id(1), success: true, now: 31_050) == [.report(.keepaliveAnswered(rtt: 50))])
        #expect(probes(machine.poll(now: 60_999, newID: { Self.id(3) })).isEmpty)
        #expect(probes(machine.poll(now: 61_000, newID: { Self.id(3) })) == [Self.id(3)])
    }

    @Test func refreshesFiveSecondsBeforeExpiryWithTheSameCallIDAndAHigherCSeq() {
        var machine = Self.registered()
        #expect(machine.cseq == 2)
        let actions = machine.poll(now: 116_000, newID: { Self.id(1) })
        #expect(actions.contains(.sendRegister(edge: "edge-1", cseq: 3, expires: 120, challenge: nil)))
        #expect(machine.callID == "call-1")
    }

    @Test func aTimeoutFailsOverToTheNextEdgeKeepingCallIDAndRaisingCSeq() {
        var machine = Self.registered()
        _ = machine.poll(now: 31_000, newID: { Self.id(1) })
        #expect(machine.nextWakeUp == 34_000)
        let actions = machine.poll(now: 34_000, newID: { Self.id(2) })
        #expect(actions == [.report(.edgeFailed(edge: "edge-1", reason: .keepaliveTimeout)), .close(edge: "edge-1"),
                            .report(.failoverStarted(from: "edge-1", to: "edge-2")), .connect(edge: "edge-2")])
        #expect(machine.connected(edge: "edge-2", now: 34_010) == [.sendRegister(edge: "edge-2", cseq: 3, expires: 120, challenge: nil)])
        #expect(machine.callID == "call-1")
    }

    @Test func aResponseAfterTheTimeoutDoesNotUndoTheFailure() {
        var machine = Self.registered()
        _ = machine.poll(now: 31_000, newID: { Self.id(1) })
        _ = machine.poll(now: 34_000, newID: { Self.id(2) })
        #expect(machine.stunAnswered(transactionID: Self.id(1), success: true, now: 34_001) == [])
        #expect(machine.currentEdge == "edge-2")
        #expect(!machine.isRegistered)
    }

    @Test func aResponseWithAnotherTransactionIDIsIgnored() {
        var machine = Self.registered()
        _ = machine.poll(now: 31_000, newID: { Self.id(1) })
        #expect(machine.stunAnswered(transactionID: Self.id(9), success: true, now: 31_010) == [])
        #expect(machine.poll(now: 34_000, newID: { Self.id(2) }).contains(.report(.edgeFailed(edge: "edge-1", reason: .keepaliveTimeout))))
    }

    @Test func aSTUNErrorOrAClosedConnectionMarksTheEdgeFailed() {
        var machine = Self.registered()
        _ = machine.poll(now: 31_000, newID: { Self.id(1) })
        #expect(machine.stunAnswered(transactionID: Self.id(1), success: false, now: 31_010).contains(.report(.edgeFailed(edge: "edge-1", reason: .stunError))))
        var other = Self.registered()
        #expect(other.connectionClosed(edge: "edge-1", now: 5_000).contains(.report(.edgeFailed(edge: "edge-1", reason: .connectionClosed(nil)))))
    }

    @Test func aFailureDuringACallIsDeferredAndCarriedOutWhenItEndsEvenIfTheEdgeRecovered() {
        var machine = Self.registered()
        machine.callStarted()
        _ = machine.poll(now: 31_000, newID: { Self.id(1) })
        #expect(machine.poll(now: 34_000, newID: { Self.id(2) }) == [.report(.failoverDeferred(edge: "edge-1", reason: .keepaliveTimeout))])
        #expect(probes(machine.poll(now: 70_000, newID: { Self.id(3) })).isEmpty, "no keepalives while a failover waits")
        #expect(machine.registerAnswered(status: 200, expires: 120, arsk: true, now: 71_000) == [], "a refresh through the old edge works again")
        let ended = machine.callEnded(now: 80_000)
        #expect(ended.contains(.connect(edge: "edge-2")), "the queued failover happens anyway")
        #expect(machine.currentEdge == "edge-2")
    }

    /// Issue 19, point 7: a call whose signalling path stays dead ends after the dead-path limit,
    /// and the deferred failover follows; no busy wake-ups meanwhile; a path that carries a
    /// REGISTER again is not dead, and the call goes on.
    @Test func aCallOnADeadPathEndsAfterTheLimitAndTheFailoverFollows() {
        var machine = Self.registered()
        machine.callStarted()
        _ = machine.poll(now: 31_000, newID: { Self.id(1) })
        #expect(machine.poll(now: 34_000, newID: { Self.id(2) }) == [.report(.failoverDeferred(edge: "edge-1", reason: .keepaliveTimeout))])
        #expect(machine.nextWakeUp == 66_000, "the next wake-up is the limit, not a keepalive in the past")
        #expect(machine.poll(now: 65_999, newID: { Self.id(3) }).isEmpty)
        #expect(machine.poll(now: 66_000, newID: { Self.id(4) }) == [.endCalls(reason: "signalling path dead for 32 s (keepalive timeout)")])
        #expect(machine.callEnded(now: 66_010).contains(.connect(edge: "edge-2")), "the deferred failover runs when the calls end")

        var recovered = Self.registered()
        recovered.callStarted()
        _ = recovered.poll(now: 31_000, newID: { Self.id(1) })
        _ = recovered.poll(now: 34_000, newID: { Self.id(2) })
        #expect(recovered.registerAnswered(status: 200, expires: 120, arsk: true, now: 40_000) == [])
        let later = recovered.poll(now: 70_000, newID: { Self.id(3) })
        #expect(!later.contains { if case .endCalls = $0 { true } else { false } }, "a path that carried a REGISTER is not dead")
        #expect(later.contains(.sendSTUN(transactionID: Self.id(3))), "keepalives go on, to tell whether it dies again")
        #expect(recovered.connectionClosed(edge: "edge-1", now: 80_000).isEmpty, "dead again: the limit counts from here")
        #expect(recovered.poll(now: 112_000, newID: { Self.id(4) }) == [.endCalls(reason: "signalling path dead for 32 s (connection closed)")],
                "the latest cause")
        #expect(!recovered.poll(now: 112_001, newID: { Self.id(5) }).contains { if case .endCalls = $0 { true } else { false } }, "said once")
        #expect(recovered.nextWakeUp.map { $0 > 112_001 } == true, "no wake-up in the past while the calls end")
    }

    @Test func whenEveryEdgeFailedItBacksOffWithinHalfToFullWindowDoublingEachRound() {
        var machine = Machine(callID: "c", candidates: ["edge-1", "edge-2"], seed: 42)
        _ = machine.start(now: 0)
        var now: Int64 = 0
        var waits: [Int64] = []
        for round in 0..<8 {
            _ = machine.connectFailed(edge: machine.currentEdge!, now: now)
            let actions = machine.connectFailed(edge: machine.currentEdge!, now: now)
            guard case .report(.backingOff(let wait, let n)) = actions.last else {
                Issue.record("no backoff in round \(round): \(actions)")
                return
            }
            #expect(n == round + 1)
            waits.append(wait)
            now += wait
            _ = machine.poll(now: now, newID: { Self.id(1) })
        }
        for (round, wait) in waits.enumerated() {
            let window = min(1_800_000, 30_000 << round)
            #expect(wait >= Int64(window / 2) && wait <= Int64(window), "round \(round): \(wait) ms in [W/2, W], W = \(window)")
        }
        // A success and one answered keepalive start the count again.
        _ = machine.connected(edge: machine.currentEdge!, now: now)
        _ = machine.registerAnswered(status: 200, expires: 120, arsk: true, now: now)
        _ = machine.poll(now: now + 30_000, newID: { Self.id(5) })
        _ = machine.stunAnswered(transactionID: Self.id(5), success: true, now: now + 30_010)
        #expect(machine.failedRounds == 0)
    }
}

/// The failure reason a machine's actions report, in words, for the tests.
enum FailureReasonText {
    static func of(_ actions: [RegistrationMachine.Action]) -> String {
        for action in actions {
            if case .report(.edgeFailed(_, let reason)) = action { return reason.description }
        }
        return ""
    }
}
