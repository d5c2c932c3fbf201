import NIOCore
import Proxy
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import STUNCore
import Testing
import TestSupport

/// The core's behaviours as a pure machine on a manual clock: links with heartbeat and
/// reconnection backoff, registrar keepalives, routing both ways. No sockets.
@Suite("Core state machine")
struct CoreStateMachineTests {
    static let edgeLink = Flow(transport: .tls, local: Fixture.address(40_001), remote: Fixture.address(7001), connectionID: 1)
    static let registrar1 = Flow(transport: .tcp, local: Fixture.address(40_010), remote: Fixture.address(5060), connectionID: 5)
    static let registrar2 = Flow(transport: .tcp, local: Fixture.address(40_011), remote: Fixture.address(5062), connectionID: 6)

    var clock = NIODeadline.uptimeNanoseconds(1_000_000_000)

    mutating func advance(_ duration: Duration) -> NIODeadline {
        clock = clock + TimeAmount(duration)
        return clock
    }

    func core(_ settings: ProxySettings = .init(), registrars: Int = 1, shared: Bool = false, seed: UInt64 = 1) -> CoreStateMachine {
        let targets = (1...registrars).map { CoreStateMachine.RegistrarTarget(name: "registrar-\($0)", address: Fixture.address(5058 + 2 * $0)) }
        return CoreStateMachine(configuration: .init(name: "core-1", edges: [Fixture.address(7001)], registrars: targets,
                                                     registrarsShareBindings: shared, sipAddress: Fixture.address(5070)),
                                settings: settings, tokens: .seeded(seed), now: clock)
    }

    static func edgeAnswer(to heartbeat: SIPMessage, keepalive: Bool = true) -> SIPMessage {
        var ok = SIPResponseBuilder.response(to: heartbeat, statusCode: 200, reasonPhrase: "OK", toTag: "e1")
        ok.headers.append(TraversalInfo.header, TraversalInfo(node: "edge-1", keepaliveEnabled: keepalive).headerValue)
        return ok
    }

    /// A core whose link to edge-1 is up and whose registrar-1 answers its keepalive.
    mutating func linked(_ settings: ProxySettings = .init(), registrars: Int = 1, shared: Bool = false,
                         edgeKeepalive: Bool = true) throws -> CoreStateMachine {
        var machine = core(settings, registrars: registrars, shared: shared)
        _ = machine.start()
        let heartbeat = try #require(machine.connected(.success(Self.edgeLink), to: .edgeLink(0), now: clock).heartbeats.first)
        _ = machine.heartbeatAnswered(Self.edgeAnswer(to: heartbeat.0, keepalive: edgeKeepalive), to: heartbeat.0, on: Self.edgeLink)
        _ = machine.timerFired(.registrarKeepalive("registrar-1"), now: clock)
        let probe = try #require(machine.connected(.success(Self.registrar1), to: .registrar("registrar-1"), now: clock).stunSent.first)
        _ = machine.stunReceived(Self.success(to: probe.0), flow: Self.registrar1, now: advance(.milliseconds(5)))
        return machine
    }

    static func success(to request: ByteBuffer) -> ByteBuffer {
        let id = try! STUNMessage.decode(request.readableBytesView.map { $0 }).transactionID
        return ByteBuffer(bytes: STUNMessage(type: .bindingSuccess, transactionID: id).encode())
    }

    /// A REGISTER as the edge forwards it: with the edge's Path.
    static func registerFromEdge() -> SIPMessage {
        Fixture.register(extra: ["Path: <sip:f1.abc@127.0.0.1:7001;transport=tls;lr;ob;x-ew-node=edge-1>"])
    }

    @Test mutating func B1_aLinkIsOpenedKeptByHeartbeatsAndReconnectedWithBackoff() throws {
        var machine = core()
        #expect(machine.start().connects == [.edgeLink(0)])
        let heartbeat = try #require(machine.connected(.success(Self.edgeLink), to: .edgeLink(0), now: clock).heartbeats.first)
        #expect(TraversalInfo(heartbeat.0)?.node == "core-1")
        let up = machine.heartbeatAnswered(Self.edgeAnswer(to: heartbeat.0), to: heartbeat.0, on: Self.edgeLink)
        #expect(up.events.map(\.message) == ["traversal link up"])
        #expect(up.timers.map(\.0) == [.link(0)] && up.timers.map(\.1) == [.seconds(5)])
        #expect(machine.status.contains(StatusLine("Links Link 1 State", "Up")))
        // The next heartbeat goes unanswered: down, closed, reconnected after 1 s, then 2, 4, 8, 8.
        let next = try #require(machine.timerFired(.link(0), now: advance(.seconds(5))).heartbeats.first)
        let down = machine.heartbeatAnswered(nil, to: next.0, on: Self.edgeLink)
        #expect(down.contains { if case .close(Self.edgeLink) = $0 { true } else { false } })
        #expect(down.events.first?.message.hasPrefix("traversal link down") == true)
        #expect(down.timers.map(\.1) == [.seconds(1)])
        var delays: [Duration] = []
        for _ in 0..<4 {
            #expect(machine.timerFired(.link(0), now: clock).connects == [.edgeLink(0)])
            let failed = machine.connected(.failure(SIPStackError(.unreachable, "connection refused")), to: .edgeLink(0), now: clock)
            delays += failed.timers.map(\.1)
        }
        #expect(delays == [.seconds(2), .seconds(4), .seconds(8), .seconds(8)])
        #expect(machine.status.contains(StatusLine("Links Link 1 State", "Down")))
        // Success resets the backoff.
        _ = machine.timerFired(.link(0), now: clock)
        let again = try #require(machine.connected(.success(Self.edgeLink), to: .edgeLink(0), now: clock).heartbeats.first)
        _ = machine.heartbeatAnswered(Self.edgeAnswer(to: again.0), to: again.0, on: Self.edgeLink)
        let lost = machine.flowClosed(Self.edgeLink, reason: "closed by peer", now: clock)
        #expect(lost.timers.map(\.1) == [.seconds(1)])
    }

    @Test mutating func B12_theRegistrarKeepaliveMarksItUnreachableAndReachableAgain() throws {
        var machine = try linked()
        #expect(machine.status.contains(StatusLine("Registrars Registrar 1 State", "Reachable")))
        let probe = try #require(machine.timerFired(.registrarKeepalive("registrar-1"), now: advance(.seconds(30))).stunSent.first)
        #expect(probe.1 == Self.registrar1)
        let timedOut = machine.timerFired(.registrarKeepalive("registrar-1"), now: advance(.seconds(3)))
        #expect(timedOut.events.first?.message.hasPrefix("registrar unreachable") == true)
        #expect(timedOut.heartbeats.count == 1, "the edges hear at once (SPEC B11)")
        #expect(TraversalInfo(timedOut.heartbeats[0].0)?.registrars == ["registrar-1": false])
        let again = try #require(machine.timerFired(.registrarKeepalive("registrar-1"), now: advance(.seconds(27))).stunSent.first)
        let late = Self.success(to: probe.0)
        #expect(machine.stunReceived(late, flow: Self.registrar1, now: clock).events.isEmpty, "a late answer to the timed-out probe is ignored")
        let foreign = ByteBuffer(bytes: STUNMessage(type: .bindingSuccess, transactionID: [UInt8](repeating: 0xAB, count: 12)).encode())
        #expect(machine.stunReceived(foreign, flow: Self.registrar1, now: clock).events.isEmpty, "another transaction id is ignored")
        #expect(machine.status.contains(StatusLine("Registrars Registrar 1 State", "Unreachable")))
        let back = machine.stunReceived(Self.success(to: again.0), flow: Self.registrar1, now: advance(.milliseconds(2)))
        #expect(back.events.map(\.message) == ["registrar reachable"])
        let closed = machine.flowClosed(Self.registrar1, reason: "closed by peer", now: clock)
        #expect(closed.events.first?.message == "registrar unreachable: the peer closed the connection")
    }

    /// Issue: a flap after recovery. A registrar that answers a REGISTER is reachable at once, and
    /// the edges hear it before the answer, so the phone's next keepalive is answered.
    @Test mutating func B11_aRegistrarThatAnswersARegisterIsReachableBeforeTheAnswerGoesOn() throws {
        var machine = try linked()
        _ = machine.flowClosed(Self.registrar1, reason: "closed by peer", now: clock)
        #expect(machine.status.contains(StatusLine("Registrars Registrar 1 State", "Unreachable")))
        let forward = try #require(machine.requestReceived(Self.registerFromEdge(), flow: Self.edgeLink).forwards.first)
        var ok = try SIPParser.parse(MRAFixtures.registerOK)
        ok.headers.remove(.contact)
        ok.headers.append(.contact, try forward.message.contacts()[0].description + ";expires=120")
        let actions = machine.answerReceived(.response(ok), relay: forward.relay, now: advance(.milliseconds(5)))
        #expect(actions.events.map(\.message) == ["registrar reachable: a REGISTER was answered"])
        #expect(machine.status.contains(StatusLine("Registrars Registrar 1 State", "Reachable")))
        let heartbeat = actions.firstIndex { if case .sendHeartbeat = $0 { true } else { false } }
        let answer = actions.firstIndex { if case .respond = $0 { true } else { false } }
        #expect(heartbeat != nil && answer != nil && heartbeat! < answer!, "the edge hears of the registrar before the 200 OK: \(actions)")
        #expect(actions.heartbeats.first.flatMap { TraversalInfo($0.0) }?.registrars == ["registrar-1": true])
        let again = machine.answerReceived(.response(ok), relay: forward.relay, now: advance(.milliseconds(5)))
        #expect(again.events.isEmpty && again.heartbeats.isEmpty, "once reachable, an answer changes nothing")
    }

    /// A registrar the core cannot reach and a link that is down are alarms with their cause,
    /// cleared when they end; so is maintenance, here or at the edge.
    @Test mutating func B24_degradedStatesRaiseAlarmsWithTheirCauseAndClearThem() throws {
        var machine = try linked()
        let lost = machine.flowClosed(Self.registrar1, reason: "closed by peer", now: clock)
        #expect(lost.raised.map(\.description).first?.hasPrefix("registrar registrar-1 (127.0.0.1:5060) is unreachable: the peer closed the connection") == true,
                "\(lost.raised)")
        #expect(machine.timerFired(.registrarKeepalive("registrar-1"), now: advance(.seconds(30))).connects == [.registrar("registrar-1")])
        let reconnect = machine.connected(.success(Self.registrar1), to: .registrar("registrar-1"), now: clock)
        let sent = try #require(reconnect.stunSent.first)
        #expect(machine.stunReceived(Self.success(to: sent.0), flow: Self.registrar1, now: advance(.milliseconds(2))).cleared.map(\.id)
                == ["registrar-unreachable"])
        let down = machine.flowClosed(Self.edgeLink, reason: "closed by peer", now: clock)
        #expect(down.raised.map(\.description) == ["traversal link with edge-1 is down: the peer closed the connection"])
        #expect(machine.settingsChanged(ProxySettings(maintenance: true)).raised.map(\.id) == ["maintenance-mode"])
    }

    @Test mutating func B6_theContactIsRewrittenByDefaultAndPathAddedInPathMode() throws {
        var machine = try linked()
        let forward = try #require(machine.requestReceived(Self.registerFromEdge(), flow: Self.edgeLink).forwards.first)
        #expect(forward.hop == .flow(Self.registrar1))
        let contact = try #require(try forward.message.contacts().first)
        #expect(contact.uri.parameters["orig-hostport"] == "192.0.2.10:58980")
        #expect(contact.uri.port == 5070)
        #expect(!forward.message.headers.contains(.path))

        var pathMode = try linked(ProxySettings(pathHeaders: true))
        let withPath = try #require(pathMode.requestReceived(Self.registerFromEdge(), flow: Self.edgeLink).forwards.first)
        #expect(try withPath.message.contacts().first?.uri.host == "192.0.2.10")
        #expect(try withPath.message.nameAddresses(.path).map { NodeRoute.node(of: $0).map(String.init) } == ["core-1", "edge-1"])
    }

    /// SPEC B35: registrars that share bindings all hold a phone's binding; the edge is told so.
    @Test mutating func B35_theAnswerNamesEveryRegistrarOfACluster() throws {
        var machine = try linked(registrars: 3, shared: true)
        let forward = try #require(machine.requestReceived(Self.registerFromEdge(), flow: Self.edgeLink).forwards.first)
        var ok = try SIPParser.parse(MRAFixtures.registerOK)
        ok.headers.remove(.contact)
        ok.headers.append(.contact, try forward.message.contacts()[0].description + ";expires=120")
        let answer = try #require(machine.answerReceived(.response(ok), relay: forward.relay).responses.first)
        #expect(answer.headers[CoreStateMachine.registrarHeader] == "registrar-1,registrar-2,registrar-3")
    }

    @Test mutating func B4_theAnswerKeepsAR_SKOnlyWhenTheEdgeHasItOnToo() throws {
        for edgeOn in [true, false] {
            var machine = try linked(edgeKeepalive: edgeOn)
            let forward = try #require(machine.requestReceived(Self.registerFromEdge(), flow: Self.edgeLink).forwards.first)
            var ok = try SIPParser.parse(MRAFixtures.registerOK)
            ok.headers.remove(.contact)
            ok.headers.append(.contact, try forward.message.contacts()[0].description + ";expires=120")
            let answer = try #require(machine.answerReceived(.response(ok), relay: forward.relay).responses.first)
            #expect(ARSK.accepted(in: answer) == edgeOn)
            #expect(answer.headers[CoreStateMachine.registrarHeader] == "registrar-1")
            #expect(try answer.contacts().first?.uri.host == "192.0.2.10", "the phone sees its own Contact")
        }
    }

    @Test mutating func B24_anEdgeWithAnotherSettingRaisesTheAlarm() throws {
        var machine = try linked(edgeKeepalive: false)
        #expect(machine.currentAlarms.map(\.id) == ["keepalive-setting-mismatch"])
        let cleared = machine.settingsChanged(ProxySettings(keepaliveEnabled: false))
        #expect(cleared.cleared.map(\.id) == ["keepalive-setting-mismatch"])
    }

    @Test mutating func B19_aRequestGoesToAReachableRegistrar() throws {
        var machine = try linked(registrars: 2)
        _ = machine.timerFired(.registrarKeepalive("registrar-2"), now: clock)
        _ = machine.connected(.success(Self.registrar2), to: .registrar("registrar-2"), now: clock)
        #expect(machine.requestReceived(Self.registerFromEdge(), flow: Self.edgeLink).forwards.first?.hop == .flow(Self.registrar1))
        _ = machine.flowClosed(Self.registrar1, reason: "closed by peer", now: clock)
        #expect(machine.requestReceived(Self.registerFromEdge(), flow: Self.edgeLink).forwards.first?.hop == .flow(Self.registrar2))
    }

    @Test mutating func B2_inMaintenanceNewRegistrationsAndCallsGet503AndDialogsGoOn() throws {
        var machine = try linked(ProxySettings(maintenance: true))
        #expect(machine.requestReceived(Self.registerFromEdge(), flow: Self.edgeLink).responses.first?.statusLine?.statusCode == 503)
        #expect(machine.requestReceived(Fixture.invite(), flow: Self.edgeLink).responses.first?.statusLine?.statusCode == 503)
        let bye = Fixture.invite(method: "BYE", toTag: "b1")
        #expect(machine.requestReceived(bye, flow: Self.edgeLink).forwards.first?.hop == .flow(Self.registrar1), "a dialog goes on")
    }

    @Test mutating func aStoppedCoreClosesItsLinksAndReconnectsNothing() throws {
        var machine = try linked()
        let actions = machine.stop()
        #expect(actions.count == 2, "the link and the registrar connection")
        #expect(actions.contains { if case .close(Self.edgeLink) = $0 { true } else { false } })
        #expect(actions.contains { if case .close(Self.registrar1) = $0 { true } else { false } })
        #expect(machine.flowClosed(Self.edgeLink, reason: "closed by peer", now: clock).timers.isEmpty, "the closed link is not reconnected")
        #expect(machine.timerFired(.link(0), now: clock).isEmpty, "no reconnection")
        #expect(machine.timerFired(.registrarKeepalive("registrar-1"), now: advance(.seconds(30))).isEmpty, "no keepalive")
        #expect(machine.start().isEmpty)
        #expect(machine.status.contains(StatusLine("Links Link 1 State", "Down")))
    }

    @Test mutating func aRequestForAPhoneGoesOverTheLinkOfItsEdgeOr430WhenThatFlowFailed() throws {
        var machine = try linked()
        let forward = try #require(machine.requestReceived(Self.registerFromEdge(), flow: Self.edgeLink).forwards.first)
        let rewritten = try forward.message.contacts()[0].uri
        let invite = try SIPParser.parse("""
            INVITE \(rewritten) SIP/2.0\r
            Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-reg-1;rport\r
            Max-Forwards: 69\r
            From: <sip:bob@example.com>;tag=b1\r
            To: <sip:alice@example.com>\r
            Call-ID: call-1\r
            CSeq: 1 INVITE\r
            Contact: <sip:bob@127.0.0.1:5060>\r
            Content-Length: 0\r
            \r

            """)
        let toPhone = try #require(machine.requestReceived(invite, flow: Self.registrar1).forwards.first)
        #expect(toPhone.hop == .flow(Self.edgeLink))
        #expect(toPhone.message.requestLine?.uri.hasPrefix("sip:8d3f2c1e-5b7a-4e90-9a61-d2f3c4b5a6e7@192.0.2.10:58980") == true)
        // RFC 5626 §5.3: the link closing under the request, or down before it, fails the flow.
        let closedUnder = machine.answerReceived(.failed(SIPStackError(.connectionClosed, "the link closed")), relay: toPhone.relay)
        #expect(closedUnder.responses.first?.statusLine?.statusCode == 430)
        _ = machine.flowClosed(Self.edgeLink, reason: "closed by peer", now: clock)
        #expect(machine.requestReceived(invite, flow: Self.registrar1).responses.first?.statusLine?.statusCode == 430)
    }

    @Test mutating func theSameInputsGiveTheSameActions() throws {
        var first = try linked()
        var second = try linked()
        let a = first.requestReceived(Self.registerFromEdge(), flow: Self.edgeLink).transcript
            + first.timerFired(.registrarKeepalive("registrar-1"), now: advance(.seconds(30))).transcript
        let b = second.requestReceived(Self.registerFromEdge(), flow: Self.edgeLink).transcript
            + second.timerFired(.registrarKeepalive("registrar-1"), now: clock).transcript
        #expect(a == b)
        #expect(a.contains("stun "), "the keepalive's transaction id is part of the transcript")
    }
}
