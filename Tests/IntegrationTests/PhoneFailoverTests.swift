import Foundation
import NIOCore
import NIOPosix
import EdgewayNode
import Phone
import PhoneLogic
import Testing
import TestSupport

/// SPEC B14–B18 live: a phone registered through edge-1 moves to edge-2 when edge-1 dies or
/// hangs, and waits for the end of a call before it does.
@Suite("Phone failover", .serialized)
struct PhoneFailoverTests {
    /// Short timers: keepalive every 300 ms, 1 s to answer (roomy for a loaded machine).
    static var timers: RegistrationMachine.Configuration {
        var timers = RegistrationMachine.Configuration()
        timers.keepaliveInterval = 300
        timers.keepaliveTimeout = 1_000
        timers.registerTimeout = 5_000
        return timers
    }

    /// Collects a phone's events.
    final class Timeline: Sendable {
        let events = LockedBox<[(at: ContinuousClock.Instant, event: SoftPhone.Event)]>([])

        init(_ phone: SoftPhone) {
            Task { [events] in
                for await event in phone.events { events.mutate { $0.append((.now, event)) } }
            }
        }

        func contains(_ match: (SoftPhone.Event) -> Bool) -> Bool {
            events.read { $0.contains { match($0.event) } }
        }

        func first(_ match: (SoftPhone.Event) -> Bool) -> ContinuousClock.Instant? {
            events.read { $0.first { match($0.event) }?.at }
        }
    }

    static func registered(through edge: String) -> (SoftPhone.Event) -> Bool {
        { if case .registration(.registered(let registered, _, _)) = $0 { registered == edge } else { false } }
    }

    /// Starts both phones and waits until each is registered through its edge, the caller has
    /// called bob (the callee) and he answered; returns the call's id.
    static func callUp(_ caller: SoftPhone, _ callerTimeline: Timeline, through callerEdge: String,
                       _ callee: SoftPhone, _ calleeTimeline: Timeline, through calleeEdge: String) async throws -> String {
        caller.start()
        callee.start()
        try await eventually("both registered") { caller.registeredEdge == callerEdge && callee.registeredEdge == calleeEdge }
        let call = try caller.call("bob")
        try await eventually("the callee rings") { calleeTimeline.contains { if case .call(_, .incoming) = $0 { true } else { false } } }
        callee.answer(callee.activeCalls[0])
        try await eventually("the call is up") { callerTimeline.contains { $0 == .call(id: call, .established) } }
        return call
    }

    func phone(_ user: String, edges: [String], lab: MRADeployment) throws -> SoftPhone {
        try SoftPhone(configuration: .init(user: user, password: "pw-\(user)", domain: "example.com", edges: edges,
                                           trustedCAPEM: lab.caPEM, timers: Self.timers),
                      group: MultiThreadedEventLoopGroup.singleton)
    }

    @Test func whenItsEdgeIsKilledThePhoneReRegistersThroughTheOther() async throws {
        let lab = try await MRADeployment.start(cores: 2, edges: 2)
        let edges = lab.edges.map { "127.0.0.1:\($0.boundAddresses[.tls]!.port!)" }
        let alice = try phone("alice", edges: edges, lab: lab)
        let timeline = Timeline(alice)
        alice.start()
        try await eventually("registered via edge-1 with AR_SK and a keepalive answered") {
            timeline.contains(Self.registered(through: edges[0])) && timeline.contains {
                if case .registration(.keepaliveAnswered) = $0 { true } else { false }
            }
        }
        let killed = ContinuousClock.now
        await lab.edges[0].shutdown()
        try await eventually("registered via edge-2", seconds: 30) { timeline.contains(Self.registered(through: edges[1])) }
        let detected = try #require(timeline.first { if case .registration(.edgeFailed) = $0 { true } else { false } })
        let recovered = try #require(timeline.first(Self.registered(through: edges[1])))
        print("edge killed: detected after \(detected - killed), registered through edge-2 \(recovered - detected) later")
        #expect(detected - killed < .seconds(15), "a generous bound: loaded machines stall")
        #expect(recovered - detected < .seconds(15))
        #expect(alice.registeredEdge == edges[1])
        // The new registration replaced the old binding: same instance, reg-id and Call-ID, higher CSeq.
        let bindings = try await lab.bindings(of: "alice")
        #expect(bindings.count == 1)
        #expect(bindings.first?.instanceID?.contains(alice.instance) == true)
        #expect(bindings.first?.regID == 1)
        #expect(bindings.first?.contactValue.contains("devicename.ccm.cisco.com=\"CSFALICE\"") == true)
        await alice.stop()
        await lab.shutdown()
    }

    @Test func whenItsEdgeHangsThePhoneNoticesByKeepaliveTimeoutAndMoves() async throws {
        let lab = try await MRADeployment.start(cores: 1, edges: 2)
        let relay = try await FaultRelay.start(to: lab.edges[0].boundAddresses[.tls]!)
        let edges = ["127.0.0.1:\(relay.address.port!)", "127.0.0.1:\(lab.edges[1].boundAddresses[.tls]!.port!)"]
        let alice = try phone("alice", edges: edges, lab: lab)
        let timeline = Timeline(alice)
        alice.start()
        try await eventually("registered via edge-1") { timeline.contains(Self.registered(through: edges[0])) }
        let blackholed = ContinuousClock.now
        relay.blackhole()
        try await eventually("registered via edge-2", seconds: 30) { timeline.contains(Self.registered(through: edges[1])) }
        #expect(timeline.contains { $0 == .registration(.edgeFailed(edge: edges[0], reason: .keepaliveTimeout)) })
        // Detection within interval + timeout (300 + 1,000 ms) plus scheduling slack; recovery well under it.
        let detected = try #require(timeline.first { if case .registration(.edgeFailed) = $0 { true } else { false } })
        let recovered = try #require(timeline.first(Self.registered(through: edges[1])))
        print("edge black-holed: detected after \(detected - blackholed), registered through edge-2 \(recovered - detected) later")
        #expect(detected - blackholed < .milliseconds(300 + 1_000 + 2_000), "interval + timeout, with room for a loaded machine")
        #expect(recovered - detected < .seconds(5))
        await alice.stop()
        await relay.stop()
        await lab.shutdown()
    }

    /// Issue 19, point 7: the caller hangs up while the callee's edge is black-holed; the BYE
    /// cannot reach the callee, whose call ends by itself after the dead-path limit, and its
    /// deferred failover follows.
    @Test func aCallWhoseSignallingPathIsDeadEndsByItselfAndTheFailoverFollows() async throws {
        let lab = try await MRADeployment.start(cores: 1, edges: 2)
        let relay = try await FaultRelay.start(to: lab.edges[0].boundAddresses[.tls]!)
        let edges = ["127.0.0.1:\(relay.address.port!)", "127.0.0.1:\(lab.edges[1].boundAddresses[.tls]!.port!)"]
        var timers = Self.timers
        timers.deadPathCallLimit = 2_000
        let bob = try SoftPhone(configuration: .init(user: "bob", password: "pw-bob", domain: "example.com", edges: edges,
                                                     trustedCAPEM: lab.caPEM, timers: timers), group: MultiThreadedEventLoopGroup.singleton)
        let alice = try phone("alice", edges: [edges[1]], lab: lab)
        let (aliceTimeline, bobTimeline) = (Timeline(alice), Timeline(bob))
        let call = try await Self.callUp(alice, aliceTimeline, through: edges[1], bob, bobTimeline, through: edges[0])

        relay.blackhole()
        await alice.hangUp(call)
        try await eventually("bob's failover waits for the call") {
            bobTimeline.contains { if case .registration(.failoverDeferred) = $0 { true } else { false } }
        }
        try await eventually("bob's call ends by itself", seconds: 20) {
            bobTimeline.contains { $0 == .call(id: call, .ended(reason: "signalling path dead for 2 s (keepalive timeout)")) }
        }
        try await eventually("and bob registers through edge-2", seconds: 20) { bob.registeredEdge == edges[1] }
        #expect(bob.activeCalls.isEmpty)
        await alice.stop()
        await bob.stop()
        await relay.stop()
        await lab.shutdown()
    }

    @Test func duringACallNoREGISTERGoesOutAndRightAfterHangUpThePhoneFailsOver() async throws {
        let lab = try await MRADeployment.start(cores: 1, edges: 2)
        let edges = lab.edges.map { "127.0.0.1:\($0.boundAddresses[.tls]!.port!)" }
        let alice = try phone("alice", edges: edges, lab: lab)
        let bob = try phone("bob", edges: [edges[1]], lab: lab)
        let (aliceTimeline, bobTimeline) = (Timeline(alice), Timeline(bob))
        let call = try await Self.callUp(alice, aliceTimeline, through: edges[0], bob, bobTimeline, through: edges[1])

        let registersBefore = aliceTimeline.events.read { $0.filter { if case .registerSent = $0.event { true } else { false } }.count }
        await lab.edges[0].shutdown()
        try await eventually("the failure is deferred") {
            aliceTimeline.contains { if case .registration(.failoverDeferred) = $0 { true } else { false } }
        }
        try await Task.sleep(for: .milliseconds(500))
        let registersDuring = aliceTimeline.events.read { $0.filter { if case .registerSent = $0.event { true } else { false } }.count }
        #expect(registersDuring == registersBefore, "no REGISTER goes out during the call")
        await alice.hangUp(call)
        try await eventually("registered via edge-2 after the call") { alice.registeredEdge == edges[1] }
        await alice.stop()
        await bob.stop()
        await lab.shutdown()
    }
}

/// SPEC B4, B13 for the SDK: without AR_SK the phone keeps its flow with CRLF pings at the
/// Flow-Timer pace the edge gives RFC 5626 outbound phones.
@Suite("Phone keepalive modes", .serialized)
struct PhoneKeepaliveModeTests {
    @Test func withoutARSKThePhoneSendsCRLFPingsAtTheFlowTimerPace() async throws {
        let lab = try await MRADeployment.start(edgeSettings: [(.stunKeepAliveEnabled, "Off"), (.outboundFlowTimer, "10")])
        let edge = "127.0.0.1:\(lab.edges[0].boundAddresses[.tls]!.port!)"
        let alice = try SoftPhone(configuration: .init(user: "alice", password: "pw-alice", domain: "example.com", edges: [edge],
                                                       trustedCAPEM: lab.caPEM),
                                  group: MultiThreadedEventLoopGroup.singleton)
        let timeline = PhoneFailoverTests.Timeline(alice)
        alice.start()
        try await eventually("registered with CRLF keepalives every 8 s") {
            timeline.contains { $0 == .registration(.registered(edge: edge, arsk: false, keepalive: .crlf(interval: 8_000))) }
        }
        try await eventually("the edge answered a ping", seconds: 20) {
            (await lab.edges[0].service.status).contains { $0.path == "Keepalive PingsAnswered" && $0.value != "0" }
        }
        await alice.stop()
        await lab.shutdown()
    }
}
