import EdgewayNode
import Foundation
import NIOCore
import NIOPosix
import Phone
import PhoneLogic
import Proxy
import Settings
import SIPCore
import SIPTransport
import STUNCore
import Testing
import TestSupport

/// SPEC B1–B21 and B24 end to end, one named test per behaviour, against the lab topology
/// (registrar, two cores, two edges as real nodes on 127.0.0.1) with short timers. Deeper tests
/// of each behaviour live in the suites named in each test's comment.
@Suite("SPEC behaviours", .serialized)
struct SpecBehaviourTests {
    static func lab(_ edgeSettings: [(SettingPath, String)] = [], coreSettings: [(SettingPath, String)] = [],
                    minExpires: Int64 = 60) async throws -> MRADeployment {
        try await MRADeployment.start(cores: 2, edges: 2, coreSettings: coreSettings, edgeSettings: edgeSettings, minExpires: minExpires)
    }

    static func softPhone(_ user: String, _ lab: MRADeployment, edges: [Int] = [0, 1],
                          timers: RegistrationMachine.Configuration = PhoneFailoverTests.timers) throws -> (SoftPhone, PhoneFailoverTests.Timeline) {
        let phone = try SoftPhone(configuration: .init(user: user, password: "pw-\(user)", domain: "example.com",
                                                       edges: edges.map { edge(lab, $0) }, trustedCAPEM: lab.caPEM, timers: timers),
                                  group: MultiThreadedEventLoopGroup.singleton)
        return (phone, PhoneFailoverTests.Timeline(phone))
    }

    static func edge(_ lab: MRADeployment, _ index: Int) -> String {
        "127.0.0.1:\(lab.edges[index].boundAddresses[.tls]!.port!)"
    }

    static func status(_ lines: [StatusLine], _ path: String) -> String? {
        lines.first { $0.path == path }?.value
    }

    /// B1 (MRAPathHealthTests, MRABadInputTests): the core opens the link to the edge's traversal
    /// port; both ends know its health, and the edge learns at once when the core is gone.
    @Test func B1_traversalLinksAreOpenedByTheCoreAndBothEndsKnowTheirHealth() async throws {
        let lab = try await Self.lab()
        let edge = lab.edges[0]
        #expect((await edge.service.status).filter { $0.path.hasSuffix(" State") && $0.value == "Up" }.count == 2)
        #expect((await lab.cores[0].service.status).filter { $0.path.hasPrefix("Links") && $0.path.hasSuffix(" State") && $0.value == "Up" }.count == 2)
        await lab.cores[0].shutdown()
        try await eventually("edge-1 sees one link left") {
            (await edge.service.status).filter { $0.path.hasSuffix(" State") && $0.value == "Up" }.count == 1
        }
        await lab.shutdown()
    }

    /// B2 (MRAMaintenanceTests): two of each role; an edge in maintenance refuses new registrations.
    @Test func B2_clustersAndMaintenanceMode() async throws {
        let lab = try await Self.lab()
        _ = try lab.edges[0].settings.set(.maintenanceMode, to: "On")
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        #expect(try await alice.register(at: lab.edgeAddress(0)).statusLine?.statusCode == 503)
        try expectOK(try await alice.register(at: lab.edgeAddress(1)))
        await alice.close()
        await lab.shutdown()
    }

    /// B3: the phone's Contact carries the AR_SK offer, instance, reg-id and device name.
    @Test func B3_thePhoneOffersARSKWithItsIdentity() async throws {
        let lab = try await Self.lab()
        let (alice, _) = try Self.softPhone("alice", lab)
        alice.start()
        try await eventually("registered") { alice.registeredEdge != nil }
        let contact = try #require(try await lab.bindings(of: "alice").first?.contactValue)
        for parameter in ["x-cisco-mra-ha=AR_SK", "+sip.instance=\"<\(alice.instance)>\"", "x-cisco-reg-id=1", "devicename.ccm.cisco.com=\"CSFALICE\""] {
            #expect(contact.contains(parameter), "\(parameter) in \(contact)")
        }
        await alice.stop()
        await lab.shutdown()
    }

    /// B4 (MRASettingsTests): AR_SK is accepted only when offered and On on edge and core.
    @Test func B4_acceptanceOnlyWhenOfferedAndOnBothNodes() async throws {
        let lab = try await Self.lab()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        #expect(ARSK.accepted(in: try await alice.register(at: lab.edgeAddress())))
        #expect(!ARSK.accepted(in: try await alice.register(at: lab.edgeAddress(), offer: false)), "not offered, not accepted")
        _ = try lab.cores[0].settings.set(.stunKeepAliveEnabled, to: "Off")
        _ = try lab.cores[1].settings.set(.stunKeepAliveEnabled, to: "Off")
        try await eventually("the edge knows") { (await lab.edges[0].service.status).contains { $0.path.hasSuffix("PeerStunKeepAlive") && $0.value == "Off" } }
        #expect(!ARSK.accepted(in: try await alice.register(at: lab.edgeAddress())), "Off on the core")
        await alice.close()
        await lab.shutdown()
    }

    /// B5 (MRAPathTests): received, rport and ingress-zone on the phone's Via.
    @Test func B5_theEdgeStampsThePhonesVia() async throws {
        let lab = try await Self.lab()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        let via = try await alice.register(at: lab.edgeAddress()).topVia()
        #expect(via.received == "127.0.0.1")
        #expect(via.rport == .value(alice.flow.read { $0 }!.local.port!))
        #expect(via.parameters["ingress-zone"] == "CollaborationEdgeZone")
        await alice.close()
        await lab.shutdown()
    }

    /// B6 (MRACallTests): Contact rewriting with orig-hostport by default, Path when SipPathHeaders is On.
    @Test(arguments: [false, true]) func B6_coreRoutingMode(path: Bool) async throws {
        let lab = try await Self.lab(coreSettings: path ? [(.sipPathHeaders, "On")] : [])
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        let binding = try #require(try await lab.bindings(of: "alice").first)
        #expect(binding.contactURI.contains("orig-hostport=") == !path)
        #expect(binding.path.count == (path ? 2 : 0))
        await alice.close()
        await lab.shutdown()
    }

    /// B7 (RegistrarServiceTests, RegistrarProcessTests): Expires 120, one binding per instance and
    /// reg-id replaced across paths, x-cisco-newreg for a binding new on its path.
    @Test func B7_registrarBindings() async throws {
        let lab = try await Self.lab()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        let first = try await alice.register(at: lab.edgeAddress(0))
        #expect(try first.contacts().first?.parameters["expires"] == "120")
        #expect(try first.contacts().first?.parameters.contains("x-cisco-newreg") == true)
        let other = try TestPhone(user: "alice", caPEM: lab.caPEM)
        let second = try await other.stack.transport.connect(.tls, to: lab.edgeAddress(1), serverHostname: "localhost")
        other.flow.mutate { $0 = second }
        let moved = try await DigestRegistration.register(other.stack, on: second, user: "alice", password: "pw-alice", cseq: 10) { cseq, authorization in
            var request = alice.registerRequest(cseq: cseq, via: second, authorization: authorization)
            request.headers.set(.callID, "reg-alice-moved")
            return request
        }
        try expectOK(moved)
        #expect(try await lab.bindings(of: "alice").count == 1, "the same instance and reg-id replace the binding")
        await alice.close()
        await other.close()
        await lab.shutdown()
    }

    /// B8: the phone refreshes at Expires − 5 s with the same Call-ID and a higher CSeq.
    @Test func B8_refreshWithTheSameCallIDAndAHigherCSeq() async throws {
        let lab = try await Self.lab(minExpires: 1)
        var timers = PhoneFailoverTests.timers
        timers.expires = 6
        let (alice, timeline) = try Self.softPhone("alice", lab, timers: timers)
        alice.start()
        try await eventually("a refresh went out") {
            timeline.events.read { $0.filter { if case .registerSent = $0.event { true } else { false } }.count } >= 4
        }
        try await eventually("the registrar took it") { (try await lab.bindings(of: "alice").first?.cseq ?? 0) >= 4 }
        #expect(try await lab.bindings(of: "alice").count == 1, "same Call-ID: a refresh, not a second binding")
        await alice.stop()
        await lab.shutdown()
    }

    /// B9 (RegistrationMachineTests): STUN keepalives on the registered connection, answered.
    @Test func B9_phoneKeepalivesOnTheRegisteredConnection() async throws {
        let lab = try await Self.lab()
        let (alice, timeline) = try Self.softPhone("alice", lab)
        alice.start()
        try await eventually("three keepalives answered") {
            timeline.events.read { $0.filter { if case .registration(.keepaliveAnswered) = $0.event { true } else { false } }.count } >= 3
        }
        #expect(Self.status((await lab.edges[0].service.status), "Keepalive Unanswered") == "0")
        await alice.stop()
        await lab.shutdown()
    }

    /// B10 (SIPStreamFrameDecoderTests, MRABadInputTests): STUN, CRLF pings and SIP share one TLS
    /// connection; garbage closes only that connection.
    @Test func B10_streamFramingOnOneConnection() async throws {
        let lab = try await Self.lab()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        let flow = try #require(alice.flow.read { $0 })
        try await alice.stack.transport.send(ByteBuffer(string: "\r\n\r\n"), on: flow)
        #expect(try await alice.keepalive() != nil)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        let other = try TestPhone(user: "bob", caPEM: lab.caPEM)
        let garbage = try await other.stack.transport.connect(.tls, to: lab.edgeAddress(), serverHostname: "localhost")
        try await other.stack.transport.send(ByteBuffer(string: "\u{7}\u{1}not SIP at all\r\n\r\n\r\n"), on: garbage)
        try await eventually("the garbage connection is closed") { other.stack.transport.connectionCount == 0 }
        #expect(try await alice.keepalive() != nil, "alice's connection is untouched")
        await alice.close()
        await other.close()
        await lab.shutdown()
    }

    /// B11 (MRAPathHealthTests): the edge answers only while the whole path is healthy.
    @Test func B11_theEdgeAnswersForTheWholePath() async throws {
        let lab = try await Self.lab()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        #expect(try await alice.keepalive() != nil)
        await lab.stopRegistrar()
        try await eventually("silent while the registrar is down", seconds: 5) { try await alice.keepalive(waiting: 300) == nil }
        try await lab.restartRegistrar()
        try await eventually("answered again", seconds: 5) { try await alice.keepalive(waiting: 300) != nil }
        await alice.close()
        await lab.shutdown()
    }

    /// B12 (KeepaliveMonitorTests): the core's STUN keepalive tells whether its registrar answers.
    @Test func B12_theCoreKeepsARegistrarKeepalive() async throws {
        let lab = try await Self.lab()
        #expect(Self.status((await lab.cores[0].service.status), "Registrars Registrar 1 State") == "Reachable")
        await lab.stopRegistrar()
        try await eventually("unreachable") { Self.status((await lab.cores[0].service.status), "Registrars Registrar 1 State") == "Unreachable" }
        await lab.shutdown()
    }

    /// B13 (PJSUA2OutboundTests, MRABadInputTests): RFC 5626 phones get Require: outbound and a
    /// Flow-Timer, CRLF pongs, and 430 when their flow is gone.
    @Test func B13_standardOutboundPhones() async throws {
        let lab = try await Self.lab([(.stunKeepAliveEnabled, "Off")])
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        let flow = try await alice.stack.transport.connect(.tls, to: lab.edgeAddress(), serverHostname: "localhost")
        alice.flow.mutate { $0 = flow }
        let ok = try await DigestRegistration.register(alice.stack, on: flow, user: "alice", password: "pw-alice") { cseq, authorization in
            var request = alice.registerRequest(cseq: cseq, via: flow, offer: false, authorization: authorization)
            request.headers.append(.supported, "outbound, path")
            let contact = String(request.headers[.contact]!) + ";reg-id=1"
            request.headers.set(.contact, contact)
            return request
        }
        #expect(ok.hasOptionTag("outbound", in: .require))
        #expect(ok.headers[.flowTimer] == "120")
        let bob = try TestPhone(user: "bob", caPEM: lab.caPEM)
        try expectOK(try await bob.register(at: lab.edgeAddress()))
        await alice.close()
        let bobFlow = try #require(bob.flow.read { $0 })
        // The edge answers 430 for the flow that is gone; the registrar, with no other flow, 480.
        let gone = try await bob.stack.send(request: bob.invite("alice", callID: "b13"), on: bobFlow).statusLine
        #expect(gone?.statusCode == 480 && gone?.reasonPhrase.contains("no flow of") == true, "\(String(describing: gone))")
        await bob.close()
        await lab.shutdown()
    }

    /// B14 (RegistrationMachineTests): a closed connection marks the edge failed.
    @Test func B14_aClosedConnectionIsAFailure() async throws {
        let lab = try await Self.lab()
        let (alice, timeline) = try Self.softPhone("alice", lab)
        alice.start()
        try await eventually("registered") { alice.registeredEdge == Self.edge(lab, 0) }
        await lab.edges[0].shutdown()
        try await eventually("edge-1 failed: connection closed") {
            timeline.contains {
                if case .registration(.edgeFailed(edge: Self.edge(lab, 0), reason: .connectionClosed)) = $0 { true } else { false }
            }
        }
        await alice.stop()
        await lab.shutdown()
    }

    /// B15 (PhoneFailoverTests): the next edge, same identity and Call-ID, higher CSeq.
    @Test func B15_reRegistrationThroughTheNextEdge() async throws {
        let lab = try await Self.lab()
        let (alice, _) = try Self.softPhone("alice", lab)
        alice.start()
        try await eventually("registered") { alice.registeredEdge == Self.edge(lab, 0) }
        let before = try #require(try await lab.bindings(of: "alice").first)
        await lab.edges[0].shutdown()
        try await eventually("registered through edge-2") { alice.registeredEdge == Self.edge(lab, 1) }
        let after = try #require(try await lab.bindings(of: "alice").first)
        #expect(try await lab.bindings(of: "alice").count == 1)
        #expect(after.callID == before.callID)
        #expect(after.cseq > before.cseq)
        #expect(after.instanceID == before.instanceID)
        await alice.stop()
        await lab.shutdown()
    }

    /// B16 (RegistrationMachineTests): every edge failed → a random wait in [W/2, W], then again.
    @Test func B16_backoffWhenEveryEdgeFailed() async throws {
        let lab = try await Self.lab()
        var timers = PhoneFailoverTests.timers
        timers.backoffBase = 400
        let (alice, timeline) = try Self.softPhone("alice", lab, timers: timers)
        await lab.edges[0].shutdown()
        await lab.edges[1].shutdown()
        alice.start()
        try await eventually("backing off") { timeline.contains { if case .registration(.backingOff) = $0 { true } else { false } } }
        let wait = timeline.events.read { events in
            events.compactMap { if case .registration(.backingOff(let wait, 1)) = $0.event { wait } else { nil } }.first
        }
        #expect(wait.map { (200...400).contains($0) } == true, "\(String(describing: wait)) ms in [W/2, W] for W = 400 ms")
        await alice.stop()
        await lab.shutdown()
    }

    /// B17 (PhoneFailoverTests): no failover during a call; right after it.
    @Test func B17_callsDeferFailover() async throws {
        let lab = try await Self.lab()
        let (alice, aliceTimeline) = try Self.softPhone("alice", lab)
        let (bob, bobTimeline) = try Self.softPhone("bob", lab, edges: [1])
        alice.start()
        bob.start()
        try await eventually("both registered") { alice.registeredEdge == Self.edge(lab, 0) && bob.registeredEdge != nil }
        let call = try alice.call("bob")
        try await eventually("ringing at bob") { bobTimeline.contains { if case .call(_, .incoming) = $0 { true } else { false } } }
        bob.answer(bob.activeCalls[0])
        try await eventually("up") { aliceTimeline.contains { $0 == .call(id: call, .established) } }
        await lab.edges[0].shutdown()
        try await eventually("deferred") { aliceTimeline.contains { if case .registration(.failoverDeferred) = $0 { true } else { false } } }
        #expect(alice.activeCalls == [call])
        await alice.hangUp(call)
        try await eventually("moved after the call") { alice.registeredEdge == Self.edge(lab, 1) }
        await alice.stop()
        await bob.stop()
        await lab.shutdown()
    }

    /// B18 (LabTests, closing notes): detection within interval + timeout, re-registration fast.
    @Test func B18_failoverBudget() async throws {
        let lab = try await Self.lab()
        let relay = try await FaultRelay.start(to: lab.edges[0].boundAddresses[.tls]!)
        let alice = try SoftPhone(configuration: .init(user: "alice", password: "pw-alice", domain: "example.com",
                                                       edges: ["127.0.0.1:\(relay.address.port!)", Self.edge(lab, 1)],
                                                       trustedCAPEM: lab.caPEM, timers: PhoneFailoverTests.timers),
                                  group: MultiThreadedEventLoopGroup.singleton)
        let timeline = PhoneFailoverTests.Timeline(alice)
        alice.start()
        try await eventually("registered via the relay") { alice.registeredEdge == "127.0.0.1:\(relay.address.port!)" }
        let fault = ContinuousClock.now
        relay.blackhole()
        // The timeline reads the phone's events through a task: wait until it has the move too.
        try await eventually("moved") {
            alice.registeredEdge == Self.edge(lab, 1) && timeline.first(PhoneFailoverTests.registered(through: Self.edge(lab, 1))) != nil
        }
        let detected = try #require(timeline.first { if case .registration(.edgeFailed) = $0 { true } else { false } })
        let moved = try #require(timeline.first(PhoneFailoverTests.registered(through: Self.edge(lab, 1))))
        // Interval 300 ms + timeout 1,000 ms; the bounds leave room for a loaded machine.
        #expect(detected - fault < .milliseconds(1_300 + 2_000))
        #expect(moved - detected < .seconds(2))
        await alice.stop()
        await relay.stop()
        await lab.shutdown()
    }

    /// B19: the edge routes a REGISTER to a healthy core when the first is down.
    @Test func B19_adaptiveRoutingToAHealthyCore() async throws {
        let lab = try await Self.lab()
        await lab.cores[0].shutdown()
        try await eventually("edge-1 has one link") {
            (await lab.edges[0].service.status).filter { $0.path.hasSuffix(" State") && $0.value == "Up" }.count == 1
        }
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        #expect(try await alice.keepalive() != nil)
        await alice.close()
        await lab.shutdown()
    }

    /// B20 (MRACallTests): a call between phones on different edges, with ACK and BYE.
    @Test func B20_callsBetweenRegisteredPhones() async throws {
        let lab = try await Self.lab()
        let (alice, aliceTimeline) = try Self.softPhone("alice", lab, edges: [0])
        let (bob, bobTimeline) = try Self.softPhone("bob", lab, edges: [1])
        alice.start()
        bob.start()
        try await eventually("both registered") { alice.registeredEdge != nil && bob.registeredEdge != nil }
        let call = try alice.call("bob")
        try await eventually("ringing") { bobTimeline.contains { if case .call(_, .incoming) = $0 { true } else { false } } }
        bob.answer(bob.activeCalls[0])
        try await eventually("up") { aliceTimeline.contains { $0 == .call(id: call, .established) } }
        await alice.hangUp(call)
        try await eventually("bob hung up by alice") {
            bobTimeline.contains { $0 == .call(id: call, .ended(reason: "the other side hung up")) }
        }
        await alice.stop()
        await bob.stop()
        await lab.shutdown()
    }

    /// B21 (MRASettingsTests): the setting changes at runtime, without a restart: the next
    /// registration is not offered AR_SK, and a flow granted it before keeps its answers until
    /// that refresh (B11), so the change causes no failover.
    @Test func B21_theKeepaliveSettingTakesEffectAtOnce() async throws {
        let lab = try await Self.lab()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        #expect(try await alice.keepalive() != nil)
        _ = try lab.edges[0].settings.set(.stunKeepAliveEnabled, to: "Off")
        #expect(try await alice.keepalive() != nil, "answered until the next refresh")
        #expect(!ARSK.accepted(in: try await alice.register(at: lab.edgeAddress())))
        #expect(try await alice.keepalive(waiting: 500) == nil)
        _ = try lab.edges[0].settings.set(.stunKeepAliveEnabled, to: "On")
        #expect(try await alice.keepalive() != nil)
        await alice.close()
        await lab.shutdown()
    }

    /// B24 (MRASettingsTests): a mismatch raises an alarm on both ends and stops AR_SK; STUN bytes
    /// never reach a SIP parser (the connection that carried them goes on).
    @Test func B24_consistencyBetweenEdgeAndCore() async throws {
        let lab = try await Self.lab()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        _ = try lab.edges[0].settings.set(.stunKeepAliveEnabled, to: "Off")
        try await eventually("alarms on both") {
            let edgeAlarms = await lab.edges[0].service.alarms
            let coreAlarms = await lab.cores[0].service.alarms
            return !edgeAlarms.isEmpty && !coreAlarms.isEmpty
        }
        #expect(!ARSK.accepted(in: try await alice.register(at: lab.edgeAddress())))
        _ = try await alice.keepalive(waiting: 200)
        try expectOK(try await alice.register(at: lab.edgeAddress()))
        await alice.close()
        await lab.shutdown()
    }
}
