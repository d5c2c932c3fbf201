import NIOCore
import Proxy
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import Testing
import TestSupport

/// The edge's behaviours as a pure machine: inputs in, actions out, no sockets and no clock
/// (its only timer is a link's silence, fired by the test).
@Suite("Edge state machine")
struct EdgeStateMachineTests {
    static let signer = FlowTokenSigner(key: Array(repeating: 7, count: 32))

    func edge(_ settings: ProxySettings = .init(), seed: UInt64 = 1) -> EdgeStateMachine {
        EdgeStateMachine(configuration: .init(name: "edge-1", traversalAddress: Fixture.traversal),
                         settings: settings, signer: Self.signer, tokens: .seeded(seed))
    }

    /// An edge with core-1 linked on connection 1 and a phone connected on connection 10.
    func linked(_ settings: ProxySettings = .init(), core: TraversalInfo = Fixture.core()) -> EdgeStateMachine {
        var machine = edge(settings)
        _ = machine.flowOpened(Fixture.link(1))
        _ = machine.requestReceived(Fixture.heartbeat(core), flow: Fixture.link(1))
        _ = machine.flowOpened(Fixture.phone(10))
        return machine
    }

    /// Registers the phone on connection 10 and returns the 200 OK the phone gets.
    func register(_ machine: inout EdgeStateMachine, _ request: SIPMessage = Fixture.register(),
                  answer: SIPMessage = Fixture.registerOK()) throws -> SIPMessage {
        let forward = try #require(machine.requestReceived(request, flow: Fixture.phone(10)).forwards.first)
        return try #require(machine.answerReceived(.response(answer), relay: forward.relay, now: Fixture.now).responses.first)
    }

    @Test func B5_aPhonesRegisterIsStampedAndCarriesAFlowTokenInPath() throws {
        var machine = linked()
        let forward = try #require(machine.requestReceived(Fixture.register(), flow: Fixture.phone(10)).forwards.first)
        #expect(forward.hop == .flow(Fixture.link(1)))
        let via = try forward.message.topVia()
        #expect(via.parameters["received"] == "198.51.100.7")
        #expect(via.parameters["rport"] == "50010")
        #expect(via.parameters["ingress-zone"] == "CollaborationEdgeZone")
        let path = try #require(try forward.message.nameAddresses(.path).first)
        #expect(path.uri.user.map(String.init) == Self.signer.token(for: 10))
        #expect(path.uri.parameters.contains("ob"))
    }

    @Test func B4_AR_SKStaysOnlyWhenOnHereAndAtTheCore() throws {
        var both = linked()
        #expect(ARSK.accepted(in: try register(&both)))
        var edgeOff = linked(ProxySettings(keepaliveEnabled: false))
        #expect(!ARSK.accepted(in: try register(&edgeOff)))
        var coreOff = linked(core: Fixture.core(keepalive: false))
        let answer = try register(&coreOff)
        #expect(!ARSK.accepted(in: answer))
        #expect(answer.headers[CoreStateMachine.registrarHeader] == nil, "the core's note to the edge goes no further")
    }

    @Test func B24_aMismatchRaisesTheAlarmAndAMatchClearsIt() {
        var machine = edge()
        _ = machine.flowOpened(Fixture.link(1))
        let raised = machine.requestReceived(Fixture.heartbeat(Fixture.core(keepalive: false)), flow: Fixture.link(1))
        #expect(raised.raised.map(\.id) == ["keepalive-setting-mismatch"])
        #expect(raised.responses.first.flatMap { TraversalInfo($0) }?.keepaliveEnabled == true, "the answer carries the edge's own setting")
        #expect(machine.requestReceived(Fixture.heartbeat(Fixture.core(keepalive: false)), flow: Fixture.link(1)).raised.isEmpty,
                "raised once")
        let cleared = machine.settingsChanged(ProxySettings(keepaliveEnabled: false))
        #expect(cleared.cleared.map(\.id) == ["keepalive-setting-mismatch"])
        #expect(cleared.heartbeats.map(\.1) == [Fixture.link(1)], "the core hears of the change at once")
    }

    @Test func B11_theKeepaliveIsAnsweredOnlyWhileThePathIsHealthy() throws {
        var machine = linked()
        #expect(machine.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: Fixture.now).stunSent.isEmpty, "not registered yet")
        _ = try register(&machine)
        #expect(machine.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: Fixture.now).stunSent.map(\.1) == [Fixture.phone(10)])
        // The core reports its registrar unreachable.
        _ = machine.requestReceived(Fixture.heartbeat(Fixture.core(registrars: ["registrar-1": false])), flow: Fixture.link(1))
        #expect(machine.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: Fixture.now).stunSent.isEmpty)
        // Recovery.
        _ = machine.requestReceived(Fixture.heartbeat(Fixture.core()), flow: Fixture.link(1))
        #expect(machine.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: Fixture.now).stunSent.count == 1)
        // The link falls silent.
        let down = machine.timerFired(.linkSilent(1))
        #expect(down.events.map(\.message).contains { $0.hasPrefix("traversal link down") })
        #expect(machine.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: Fixture.now).stunSent.isEmpty)
        #expect(machine.status.contains(StatusLine("Keepalive Unanswered", "3")))
    }

    /// SPEC B11: a registration past its expiry is none: the phone's keepalive is withheld as
    /// `not registered` until it refreshes.
    @Test func B11_aKeepaliveAfterTheRegistrationExpiredIsWithheld() throws {
        var machine = linked()
        let ok = try register(&machine)
        let expires = try #require(ok.expires.map(Int64.init) ?? (try ok.contacts().first?.parameters["expires"]).flatMap { Int64($0) })
        let late = Fixture.now + .seconds(expires - 1)
        #expect(machine.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: late).stunSent.count == 1, "still registered")
        let expired = Fixture.now + .seconds(expires)
        #expect(machine.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: expired).stunSent.isEmpty)
        #expect(machine.status.contains(StatusLine("Keepalive Withheld NotRegistered", "1")))
    }

    /// SPEC B35: a binding held by registrars that share bindings keeps its path healthy while
    /// any of them is reachable; when none is, the keepalive goes unanswered.
    @Test func B35_aBindingSharedByACluster_staysHealthyWhileAnyRegistrarAnswers() throws {
        var machine = linked()
        _ = try register(&machine, answer: Fixture.registerOK(registrar: "registrar-1,registrar-2"))
        _ = machine.requestReceived(Fixture.heartbeat(Fixture.core(registrars: ["registrar-1": false, "registrar-2": true])), flow: Fixture.link(1))
        #expect(machine.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: Fixture.now).stunSent.count == 1, "registrar-2 holds it too")
        _ = machine.requestReceived(Fixture.heartbeat(Fixture.core(registrars: ["registrar-1": false, "registrar-2": false])), flow: Fixture.link(1))
        #expect(machine.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: Fixture.now).stunSent.isEmpty, "no registrar of the cluster left")

        var alone = linked()
        _ = try register(&alone, answer: Fixture.registerOK(registrar: "registrar-1"))
        _ = alone.requestReceived(Fixture.heartbeat(Fixture.core(registrars: ["registrar-1": false, "registrar-2": true])), flow: Fixture.link(1))
        #expect(alone.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: Fixture.now).stunSent.isEmpty, "registrars that do not share: only its own counts")
    }

    /// Every degraded state is an alarm with its cause, cleared when it ends: a core's link down,
    /// a registrar a core cannot reach, a core or this edge in maintenance.
    @Test func B24_degradedStatesRaiseAlarmsWithTheirCauseAndClearThem() {
        var machine = linked()
        let unreachable = machine.requestReceived(Fixture.heartbeat(Fixture.core(registrars: ["registrar-1": false])), flow: Fixture.link(1))
        #expect(unreachable.raised.map(\.id) == ["registrar-unreachable"])
        #expect(unreachable.raised.first?.description.hasPrefix("registrar registrar-1 is unreachable from core-1") == true)
        #expect(machine.requestReceived(Fixture.heartbeat(Fixture.core()), flow: Fixture.link(1)).cleared.map(\.id) == ["registrar-unreachable"])
        let maintenance = machine.requestReceived(Fixture.heartbeat(Fixture.core(maintenance: true)), flow: Fixture.link(1))
        #expect(maintenance.raised.map(\.description) == ["core-1 is in maintenance mode: it takes no new registrations or calls"])
        _ = machine.requestReceived(Fixture.heartbeat(Fixture.core()), flow: Fixture.link(1))
        let closed = machine.flowClosed(Fixture.link(1), reason: "closed by peer")
        #expect(closed.raised.map(\.description) == ["traversal link with core-1 is down: the peer closed the connection"])
        _ = machine.flowOpened(Fixture.link(2))
        #expect(machine.requestReceived(Fixture.heartbeat(Fixture.core()), flow: Fixture.link(2)).cleared.map(\.id) == ["traversal-link-down"])
        #expect(machine.settingsChanged(ProxySettings(maintenance: true)).raised.map(\.id) == ["maintenance-mode"])
        #expect(machine.status.contains { $0.value.contains("this node is in maintenance mode") }, "xstatus lists it")
    }

    /// SPEC B11 as amended: switching the feature Off is no outage. A flow granted AR_SK keeps its
    /// answers until its next refresh, whose 200 OK no longer offers AR_SK; then they stop.
    @Test func B11_switchingTheFeatureOffKeepsAnsweringUntilTheNextRefresh() throws {
        var machine = linked()
        #expect(ARSK.accepted(in: try register(&machine)))
        _ = machine.settingsChanged(ProxySettings(keepaliveEnabled: false))
        #expect(machine.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: Fixture.now).stunSent.count == 1, "no failover from a setting change")
        #expect(machine.status.contains(StatusLine("Keepalive AnsweredUntilRefresh", "1")))
        #expect(!ARSK.accepted(in: try register(&machine)), "the refresh no longer offers AR_SK")
        #expect(machine.stunReceived(Fixture.bindingRequest(), flow: Fixture.phone(10), now: Fixture.now).stunSent.isEmpty)
        #expect(machine.status.contains(StatusLine("Keepalive AnsweredUntilRefresh", "0")))
    }

    @Test func B1_aHeartbeatKeepsTheLinkUpForItsIntervalPlusTheTimeout() {
        var machine = edge()
        _ = machine.flowOpened(Fixture.link(1))
        let actions = machine.requestReceived(Fixture.heartbeat(Fixture.core()), flow: Fixture.link(1))
        #expect(actions.timers.map(\.0) == [.linkSilent(1)])
        #expect(actions.timers.map(\.1) == [.seconds(8)])
        #expect(actions.events.map(\.message) == ["traversal link up"])
        #expect(machine.status.contains(StatusLine("Links Link 1 State", "Up")))
        _ = machine.timerFired(.linkSilent(1))
        #expect(machine.status.contains(StatusLine("Links Link 1 State", "Down")))
        #expect(machine.flowClosed(Fixture.link(1), reason: "closed by peer").events.isEmpty, "already reported down")
        #expect(machine.status.contains(StatusLine("Links Count", "0")))
    }

    @Test func B13_anOutboundPhoneGetsRequireOutboundAndAFlowTimer() throws {
        var machine = linked(ProxySettings(flowTimerSeconds: 90))
        let contact = "<sip:alice@192.0.2.10:58980;transport=tls>;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-000000000001>\";reg-id=1"
        let answer = try register(&machine, Fixture.register(contact: contact, extra: ["Supported: outbound, path"]),
                                  answer: Fixture.registerOK(acceptsARSK: false))
        #expect(answer.hasOptionTag("outbound", in: .require))
        #expect(answer.headers[.flowTimer] == "90")
    }

    @Test func B13_aRequestForAClosedFlowGets430AndAForgedToken403() throws {
        var machine = linked()
        _ = try register(&machine)
        let token = Self.signer.token(for: 10)
        func invite(_ user: String) -> SIPMessage {
            try! SIPParser.parse("""
                INVITE sip:alice@192.0.2.10:58980;transport=tls SIP/2.0\r
                Via: SIP/2.0/TLS 127.0.0.1:40001;branch=z9hG4bK-in-1;rport\r
                Route: <sip:\(user)@127.0.0.1:7001;transport=tls;lr;x-ew-node=edge-1>\r
                Max-Forwards: 69\r
                From: <sip:bob@example.com>;tag=b1\r
                To: <sip:alice@example.com>\r
                Call-ID: call-1\r
                CSeq: 1 INVITE\r
                Contact: <sip:bob@127.0.0.1:40001>\r
                Content-Length: 0\r
                \r

                """)
        }
        let forward = try #require(machine.requestReceived(invite(token), flow: Fixture.link(1)).forwards.first)
        #expect(forward.hop == .flow(Fixture.phone(10)))
        #expect(forward.message.headers.lines(.recordRoute).first?.contains(token) == true)
        _ = machine.flowClosed(Fixture.phone(10), reason: "closed by peer")
        #expect(machine.requestReceived(invite(token), flow: Fixture.link(1)).responses.first?.statusLine?.statusCode == 430)
        #expect(machine.requestReceived(invite("f1.0000"), flow: Fixture.link(1)).responses.first?.statusLine?.statusCode == 403)
    }

    @Test func B2_inMaintenanceNewRegistrationsGet503AndDialogsGoOn() throws {
        var machine = linked(ProxySettings(maintenance: true))
        let refusal = machine.requestReceived(Fixture.register(), flow: Fixture.phone(10)).responses.first
        #expect(refusal?.statusLine?.statusCode == 503)
        #expect(refusal?.statusLine?.reasonPhrase.contains("maintenance") == true)
        let bye = try SIPParser.parse("""
            BYE sip:bob@127.0.0.1 SIP/2.0\r
            Via: SIP/2.0/TLS 192.0.2.10:58980;branch=z9hG4bK-bye;rport\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=a1\r
            To: <sip:bob@example.com>;tag=b1\r
            Call-ID: call-1\r
            CSeq: 2 BYE\r
            Content-Length: 0\r
            \r

            """)
        #expect(machine.requestReceived(bye, flow: Fixture.phone(10)).forwards.count == 1)
    }

    @Test func B2_inMaintenanceANewCallGets503() {
        var machine = linked(ProxySettings(maintenance: true))
        let answer = machine.requestReceived(Fixture.invite(), flow: Fixture.phone(10))
        #expect(answer.responses.first?.statusLine?.statusCode == 503)
        #expect(answer.forwards.isEmpty)
    }

    @Test func aCancelIsMatchedByTheOwnerAndAnACKIsNeverAnswered() throws {
        var machine = linked()
        guard case .cancelForwarded(let ok, let unknown)? = machine.requestReceived(Fixture.cancel(), flow: Fixture.phone(10)).first else {
            Issue.record("no cancel action")
            return
        }
        #expect(ok.statusLine?.statusCode == 200)
        #expect(unknown.statusLine?.statusCode == 481)
        var noLink = edge()
        _ = noLink.flowOpened(Fixture.phone(10))
        #expect(noLink.requestReceived(Fixture.ack(), flow: Fixture.phone(10)).isEmpty, "no link up: an ACK is dropped, not answered")
        #expect(noLink.requestReceived(Fixture.invite(), flow: Fixture.phone(10)).responses.first?.statusLine?.statusCode == 503)
    }

    @Test func B19_aRegisterGoesToACoreThatIsOutOfMaintenanceAndReachesARegistrar() throws {
        var machine = edge()
        _ = machine.flowOpened(Fixture.link(1))
        _ = machine.flowOpened(Fixture.link(2))
        _ = machine.requestReceived(Fixture.heartbeat(Fixture.core("core-1", registrars: ["registrar-1": false])), flow: Fixture.link(1))
        _ = machine.requestReceived(Fixture.heartbeat(Fixture.core("core-2")), flow: Fixture.link(2))
        _ = machine.flowOpened(Fixture.phone(10))
        #expect(machine.requestReceived(Fixture.register(), flow: Fixture.phone(10)).forwards.first?.hop == .flow(Fixture.link(2)))
        _ = machine.requestReceived(Fixture.heartbeat(Fixture.core("core-2", maintenance: true)), flow: Fixture.link(2))
        _ = machine.requestReceived(Fixture.heartbeat(Fixture.core("core-1")), flow: Fixture.link(1))
        #expect(machine.requestReceived(Fixture.register(), flow: Fixture.phone(10)).forwards.first?.hop == .flow(Fixture.link(1)))
        _ = machine.flowClosed(Fixture.link(1), reason: "closed by peer")
        _ = machine.timerFired(.linkSilent(2))
        #expect(machine.requestReceived(Fixture.register(), flow: Fixture.phone(10)).responses.first?.statusLine?.statusCode == 503)
    }

    @Test func aFailedForwardIsAnsweredWithTheStatusItImplies() throws {
        var machine = linked()
        let forward = try #require(machine.requestReceived(Fixture.register(), flow: Fixture.phone(10)).forwards.first)
        let timeout = machine.answerReceived(.failed(SIPStackError(.timeout, "no final response")), relay: forward.relay, now: Fixture.now)
        #expect(timeout.responses.first?.statusLine?.statusCode == 408)
        let closed = machine.answerReceived(.failed(SIPStackError(.connectionClosed, "the link closed")), relay: forward.relay, now: Fixture.now)
        #expect(closed.responses.first?.statusLine?.statusCode == 503)
        #expect(closed.responses.first?.statusLine?.reasonPhrase == "Service Unavailable (the link closed)")
    }

    @Test func B28_aRefusedCredentialCountsAgainstThePhoneAndAFirstOrStaleChallengeDoesNot() throws {
        var machine = linked()
        func answered(_ request: SIPMessage, _ status: Int, challenge: String? = nil) throws -> [ProxyAction] {
            let forward = try #require(machine.requestReceived(request, flow: Fixture.phone(10)).forwards.first)
            var answer = SIPResponseBuilder.response(to: forward.message, statusCode: status, reasonPhrase: "X")
            if let challenge { answer.headers.append(.wwwAuthenticate, challenge) }
            return machine.answerReceived(.response(answer), relay: forward.relay, now: Fixture.now)
        }
        var withCredentials = Fixture.register()
        withCredentials.headers.append(.authorization, #"Digest username="alice", realm="example.com", nonce="n", uri="sip:example.com", response="r""#)
        #expect(try answered(Fixture.register(), 401, challenge: #"Digest realm="example.com", nonce="n1""#).intrusions.isEmpty)
        #expect(try answered(withCredentials, 401, challenge: #"Digest realm="example.com", nonce="n2", stale=TRUE"#).intrusions.isEmpty)
        #expect(try answered(withCredentials, 401, challenge: "Digest realm=\"example.com\", nonce=\"n2\",\tstale = \"true\"").intrusions.isEmpty)
        #expect(try answered(withCredentials, 401, challenge: #"Digest realm="example.com", nonce="n3""#).intrusions == [.sipAuthentication])
        #expect(try answered(Fixture.register(), 403).intrusions == [.sipAuthentication])
        #expect(try answered(withCredentials, 200).intrusions.isEmpty)
        var invite = Fixture.register()
        invite.startLine = .request(.init(method: "INVITE", uri: "sip:bob@example.com"))
        #expect(try answered(invite, 403).intrusions.isEmpty, "a callee's 403 is not the caller's failure")
    }

    @Test func theSameInputsGiveTheSameActions() throws {
        func run() throws -> String {
            var machine = linked()
            var transcript = machine.requestReceived(Fixture.register(), flow: Fixture.phone(10)).transcript
            let forward = try #require(machine.requestReceived(Fixture.register(), flow: Fixture.phone(10)).forwards.first)
            transcript += machine.answerReceived(.failed(SIPStackError(.timeout, "x")), relay: forward.relay, now: Fixture.now).transcript
            transcript += machine.settingsChanged(ProxySettings(keepaliveEnabled: false)).transcript
            return transcript
        }
        #expect(try run() == run())
        #expect(try run().contains("z9hG4bK-hb-"), "heartbeats are part of the transcript")
    }
}
