import Location
import NIOCore
import Phone
import Registrar
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import Testing
import TestSupport

/// SPEC B7 and the location service on a manual clock: the registrar machine alone, no sockets;
/// the tests play the owner (account store, location store, forwarder).
@Suite("Registrar state machine")
struct RegistrarStateMachineTests {
    typealias Machine = RegistrarStateMachine

    static let authenticator = DigestAuthenticator(realm: "example.com", secret: Array(repeating: 7, count: 32))
    static let alice = DigestAuthenticator.account(username: "alice", realm: "example.com", password: "secret")
    static let phoneFlow = Flow(transport: .tls, local: try! SocketAddress(ipAddress: "127.0.0.1", port: 5061),
                                remote: try! SocketAddress(ipAddress: "127.0.0.1", port: 58_980), connectionID: 1)
    static let callerFlow = Flow(transport: .tcp, local: try! SocketAddress(ipAddress: "127.0.0.1", port: 5060),
                                 remote: try! SocketAddress(ipAddress: "127.0.0.1", port: 40_000), connectionID: 2)
    static let t0: Int64 = 1_800_000_000_000

    /// The owner's side of the machine: the bindings it holds and the manual clock.
    struct Harness {
        var machine: Machine
        var bindings: [Binding] = []
        var now = RegistrarStateMachineTests.t0
        var lookUps = 0
        /// Intrusion-protection events the machine asked to count (SPEC B28).
        var intrusions: [IntrusionCategory] = []

        init(seed: UInt64 = 1) {
            machine = Machine(configuration: .init(), authenticator: RegistrarStateMachineTests.authenticator, tokens: .seeded(seed))
        }

        /// Performs store actions as the owner would and returns the response in the end.
        mutating func run(_ actions: [Machine.Action], account: Account? = RegistrarStateMachineTests.alice) -> SIPMessage? {
            var response: SIPMessage?
            for action in actions {
                switch action {
                case .respond(let message):
                    response = message
                case .lookUpAccount(_, _, let pending):
                    lookUps += 1
                    response = run(machine.accountLoaded(account, for: pending, now: now), account: account)
                case .updateBindings(_, let update, let pending):
                    let decision = update(&bindings)
                    response = run(machine.bindingsUpdated(.success(decision), for: pending), account: account)
                case .recordIntrusion(let category):
                    intrusions.append(category)
                case .lookUpBindings, .forward, .cancelForwarded, .sendSTUN, .cancelBranches:
                    Issue.record("unexpected \(action)")
                }
            }
            return response
        }

        /// A REGISTER answered, the account store and location store played along.
        mutating func register(_ request: SIPMessage, account: Account? = RegistrarStateMachineTests.alice,
                               flow: Flow = RegistrarStateMachineTests.phoneFlow) -> SIPMessage? {
            run(machine.requestReceived(request, flow: flow, now: now), account: account)
        }

        /// Registers alice with digest: the 200 OK.
        mutating func registerAlice(cseq: Int = 2) -> SIPMessage? {
            guard let challenge = register(RegistrarStateMachineTests.register(cseq: cseq - 1)) else { return nil }
            return register(RegistrarStateMachineTests.authorized(cseq: cseq, challenge: challenge))
        }
    }

    static func register(cseq: Int, expires: Int = 120, authorization: String? = nil) -> SIPMessage {
        var message = try! SIPParser.parse(MRAFixtures.register
            .replacingOccurrences(of: "CSeq: 101", with: "CSeq: \(cseq)")
            .replacingOccurrences(of: "Expires: 120", with: "Expires: \(expires)"))
        if let authorization { message.headers.append(.authorization, authorization) }
        return message
    }

    static func authorized(cseq: Int, expires: Int = 120, challenge: SIPMessage, password: String = "secret") -> SIPMessage {
        let offer = challenge.headers.lines(.wwwAuthenticate).first ?? ""
        let authorization = DigestClient.authorization(for: register(cseq: cseq, expires: expires), challenges: [offer],
                                                       username: "alice", password: password)
        return register(cseq: cseq, expires: expires, authorization: authorization)
    }

    static func request(_ method: String, to uri: String, branch: String = "z9hG4bK-req-1") -> SIPMessage {
        try! SIPParser.parse("""
            \(method) \(uri) SIP/2.0\r
            Via: SIP/2.0/TCP 127.0.0.1:40000;branch=\(branch)\r
            Max-Forwards: 70\r
            From: <sip:bob@example.com>;tag=b1\r
            To: <\(uri)>\r
            Call-ID: call-1\r
            CSeq: 1 \(method)\r
            Content-Length: 0\r
            \r

            """)
    }

    static func text(_ message: SIPMessage?) -> String {
        guard let message else { return "" }
        return String(buffer: message.serialized())
    }

    @Test func aRegisterWithoutCredentialsIsChallengedWithEveryAlgorithm() {
        var harness = Harness()
        let challenge = harness.register(Self.register(cseq: 1))
        #expect(challenge?.statusLine?.statusCode == 401)
        let offers = challenge?.headers.lines(.wwwAuthenticate) ?? []
        #expect(offers.count == 2 && offers[0].contains("algorithm=SHA-256") && offers[1].contains("algorithm=MD5"))
        #expect(harness.lookUps == 0, "no credentials, no account to read")
    }

    @Test func credentialsOnAnOldNonceLookUpTheAccountThenChallengeStale() throws {
        var machine = Machine(configuration: .init(), authenticator: Self.authenticator, tokens: .seeded(1))
        var first = Harness()
        let firstAnswer = first.register(Self.register(cseq: 1))
        let challenge = try #require(firstAnswer)
        let late = Self.t0 + 301_000
        let actions = machine.requestReceived(Self.authorized(cseq: 2, challenge: challenge), flow: Self.phoneFlow, now: late)
        guard actions.count == 1, case .lookUpAccount(let username, let realm, let pending) = actions[0] else {
            Issue.record("expected lookUpAccount, got \(actions)")
            return
        }
        #expect(username == "alice" && realm == "example.com")
        let answer = machine.accountLoaded(Self.alice, for: pending, now: late)
        guard answer.count == 1, case .respond(let response) = answer[0] else {
            Issue.record("expected a response, got \(answer)")
            return
        }
        #expect(response.statusLine?.statusCode == 401)
        #expect(response.headers.lines(SIPHeaderName.wwwAuthenticate).allSatisfy { $0.contains("stale=true") })
    }

    @Test func rightCredentialsBindWithNewregTheFirstTimeOnly() throws {
        var harness = Harness()
        let okAnswer = harness.registerAlice(cseq: 2)
        let ok = try #require(okAnswer)
        #expect(ok.statusLine?.statusCode == 200)
        let contact = try #require(try ok.contacts().first)
        #expect(contact.parameters["expires"] == "120")
        #expect(contact.parameters.contains("x-cisco-newreg"))
        #expect(ok.headers.lines(.supported).contains("X-cisco-supports-AR_SK"), "the phone offered x-cisco-mra-ha=AR_SK")
        #expect(harness.lookUps == 1)
        #expect(harness.bindings.count == 1)

        let challengeAnswer = harness.register(Self.register(cseq: 3))

        let challenge = try #require(challengeAnswer)
        let refreshAnswer = harness.register(Self.authorized(cseq: 4, challenge: challenge))
        let refresh = try #require(refreshAnswer)
        #expect(refresh.statusLine?.statusCode == 200)
        #expect(try refresh.contacts().first?.parameters.contains("x-cisco-newreg") == false)
        #expect(harness.bindings.count == 1)
    }

    @Test func aLowerCSeqOnTheSameCallIDIsRejected() throws {
        var harness = Harness()
        _ = harness.registerAlice(cseq: 5)
        let challengeAnswer = harness.register(Self.register(cseq: 6))
        let challenge = try #require(challengeAnswer)
        let staleAnswer = harness.register(Self.authorized(cseq: 4, challenge: challenge))
        let stale = try #require(staleAnswer)
        #expect(stale.statusLine?.statusCode == 500)
        #expect(stale.statusLine?.reasonPhrase == "Out Of Order CSeq")
    }

    @Test func anExpiryBelowTheMinimumGets423WithMinExpires() throws {
        var harness = Harness()
        let challengeAnswer = harness.register(Self.register(cseq: 1, expires: 30))
        let challenge = try #require(challengeAnswer)
        let briefAnswer = harness.register(Self.authorized(cseq: 2, expires: 30, challenge: challenge))
        let brief = try #require(briefAnswer)
        #expect(brief.statusLine?.statusCode == 423)
        #expect(brief.headers.lines(.minExpires) == ["60"])
        #expect(harness.bindings.isEmpty)
    }

    @Test func aWrongPasswordIsForbidden() throws {
        var harness = Harness()
        let challengeAnswer = harness.register(Self.register(cseq: 1))
        let challenge = try #require(challengeAnswer)
        let refusedAnswer = harness.register(Self.authorized(cseq: 2, challenge: challenge, password: "wrong"))
        let refused = try #require(refusedAnswer)
        #expect(refused.statusLine?.statusCode == 403)
        #expect(harness.bindings.isEmpty)
        #expect(harness.intrusions == [.sipAuthentication], "the refusal counts against the source; the first challenge does not")
    }

    @Test func anAccountIsReadAgainOnlyAfterTheCacheLifetime() throws {
        var harness = Harness()
        _ = harness.registerAlice(cseq: 2)
        #expect(harness.lookUps == 1)
        let challengeAnswer = harness.register(Self.register(cseq: 3))
        let challenge = try #require(challengeAnswer)
        harness.now += 1_999
        _ = harness.register(Self.authorized(cseq: 4, challenge: challenge))
        #expect(harness.lookUps == 1, "cached for 2,000 ms")
        harness.now += 1
        let ok = harness.register(Self.authorized(cseq: 5, challenge: challenge))
        #expect(harness.lookUps == 2, "read again after the lifetime")
        #expect(ok?.statusLine?.statusCode == 200)
    }

    @Test func anUnknownUserIsForbidden() throws {
        var harness = Harness()
        let challengeAnswer = harness.register(Self.register(cseq: 1))
        let challenge = try #require(challengeAnswer)
        #expect(harness.register(Self.authorized(cseq: 2, challenge: challenge), account: nil)?.statusLine?.statusCode == 403)
        #expect(harness.intrusions == [.sipAuthentication])
    }

    @Test func optionsForTheRegistrarIsAnswered() {
        var machine = Machine(configuration: .init(), authenticator: Self.authenticator, tokens: .seeded(1))
        let actions = machine.requestReceived(Self.request("OPTIONS", to: "sip:example.com"), flow: Self.callerFlow, now: Self.t0)
        guard actions.count == 1, case .respond(let ok) = actions[0] else {
            Issue.record("expected a response, got \(actions)")
            return
        }
        #expect(ok.statusLine?.statusCode == 200)
    }

    /// The INVITE for alice as the machine forwards it, once bindings are found.
    static func forwarded(_ machine: inout Machine, bindings: [Binding]) -> (SIPMessage, Machine.NextHop)? {
        let actions = machine.requestReceived(request("INVITE", to: "sip:alice@example.com"), flow: callerFlow, now: t0)
        guard actions.count == 1, case .lookUpBindings(let aor, let pending) = actions[0], aor == "sip:alice@example.com" else {
            Issue.record("expected lookUpBindings, got \(actions)")
            return nil
        }
        let next = machine.bindingsFound(.success(bindings), for: pending)
        guard next.count == 1, case .forward(let outgoing, let hop, _) = next[0] else {
            Issue.record("expected forward, got \(next)")
            return nil
        }
        return (outgoing, hop)
    }

    /// Two flows of one instance (reg-id 1 via edge-1, newer reg-id 2 via edge-2), then an older
    /// binding of another instance.
    static func bindings() -> [Binding] {
        func binding(_ regID: Int, edge: String, instance: String = "urn:uuid:1", expiresAt: Int64) -> Binding {
            Binding(aor: "sip:alice@example.com", contactURI: "sip:alice@192.0.2.10:\(5060 + regID);transport=tls",
                    contactValue: "<sip:alice@192.0.2.10:\(5060 + regID);transport=tls>", instanceID: instance, regID: regID,
                    callID: "c", cseq: 1, expiresAt: expiresAt, path: ["<sip:flow\(regID)@\(edge).example.com;lr;ob>"],
                    pathIdentity: edge)
        }
        return [binding(1, edge: "edge-1", expiresAt: t0 + 60_000), binding(2, edge: "edge-2", expiresAt: t0 + 90_000),
                binding(1, edge: "edge-1", instance: "urn:uuid:other", expiresAt: t0 + 30_000)]
    }

    /// The two flows of one instance.
    static func twoFlows() -> [Binding] {
        bindings().filter { $0.instanceID == "urn:uuid:1" }
    }

    /// The INVITE for alice forwarded to the first flow, with the pending state its answers need.
    static func forwardedWithPending(_ machine: inout Machine, bindings: [Binding]) -> (SIPMessage, Machine.PendingProxy)? {
        let actions = machine.requestReceived(request("INVITE", to: "sip:alice@example.com"), flow: callerFlow, now: t0)
        guard case .lookUpBindings(_, let pending)? = actions.first,
              case .forward(let outgoing, _, let next)? = machine.bindingsFound(.success(bindings), for: pending).first
        else { return nil }
        return (outgoing, next)
    }

    @Test func aFailedFlowIsFollowedByTheNextFlowOfTheInstanceAndA430NeverGoesUpstream() throws {
        var machine = Machine(configuration: .init(), authenticator: Self.authenticator, tokens: .seeded(1))
        let first = Self.forwardedWithPending(&machine, bindings: Self.twoFlows())
        let (invite, pending) = try #require(first)
        #expect(invite.headers.lines(.route).first?.contains("flow2@edge-2") == true, "the newest flow first")
        let flowFailed = SIPResponseBuilder.response(to: invite, statusCode: 430, reasonPhrase: "Flow Failed")
        let retried = machine.answerReceived(.response(flowFailed), for: pending)
        guard case .forward(let again, _, let next)? = retried.first else {
            Issue.record("expected the next flow, got \(retried)")
            return
        }
        #expect(again.headers.lines(.route).first?.contains("flow1@edge-1") == true, "then the instance's other flow")
        let last = machine.answerReceived(.response(SIPResponseBuilder.response(to: again, statusCode: 430, reasonPhrase: "Flow Failed")), for: next)
        guard case .respond(let answer)? = last.first else {
            Issue.record("expected an answer, got \(last)")
            return
        }
        #expect(answer.statusLine?.statusCode == 480, "no flow left: 480, never 430 (RFC 5626 §5.3)")
    }

    /// Two instances of alice, each with one flow: an INVITE forks to both (RFC 5626 §7).
    static func twoInstances() -> [Binding] {
        bindings().filter { $0.regID == 1 }
    }

    /// The INVITE forked to both instances, and each branch's pending state.
    static func forked(_ machine: inout Machine) -> [(SIPMessage, Machine.PendingProxy)] {
        let actions = machine.requestReceived(request("INVITE", to: "sip:alice@example.com"), flow: callerFlow, now: t0)
        guard case .lookUpBindings(_, let pending)? = actions.first else { return [] }
        return machine.bindingsFound(.success(twoInstances()), for: pending).compactMap {
            if case .forward(let outgoing, _, let branch) = $0 { (outgoing, branch) } else { nil }
        }
    }

    static func statuses(_ actions: [Machine.Action]) -> [Int] {
        actions.compactMap { if case .respond(let response) = $0 { response.statusLine?.statusCode } else { nil } }
    }

    @Test func anInviteForksToEveryInstanceAndTheFirst2xxGoesUpAndCancelsTheRest() throws {
        var machine = Machine(configuration: .init(), authenticator: Self.authenticator, tokens: .seeded(1))
        let branches = Self.forked(&machine)
        try #require(branches.count == 2, "one branch per instance")
        func answer(_ index: Int, _ status: Int) -> [Machine.Action] {
            let (invite, pending) = branches[index]
            return machine.answerReceived(.response(SIPResponseBuilder.response(to: invite, statusCode: status, reasonPhrase: "X", toTag: "t\(index)")),
                                          for: pending)
        }
        #expect(Self.statuses(answer(0, 180)) == [180], "provisionals go up")
        #expect(Self.statuses(answer(1, 486)).isEmpty, "a final waits for the other branches")
        let ok = answer(0, 200)
        #expect(Self.statuses(ok) == [200])
        #expect(ok.contains { if case .cancelBranches = $0 { true } else { false } }, "§16.7 step 10")
    }

    @Test func aForkedBranchTriesItsInstancesOtherFlowButOpensNoneOnceAnotherAnswered() throws {
        var machine = Machine(configuration: .init(), authenticator: Self.authenticator, tokens: .seeded(1))
        let actions = machine.requestReceived(Self.request("INVITE", to: "sip:alice@example.com"), flow: Self.callerFlow, now: Self.t0)
        guard case .lookUpBindings(_, let lookup)? = actions.first else {
            Issue.record("expected a lookup")
            return
        }
        let branches = machine.bindingsFound(.success(Self.bindings()), for: lookup).compactMap {
            if case .forward(let outgoing, _, let branch) = $0 { (outgoing, branch) } else { nil }
        }
        try #require(branches.count == 2, "one branch per instance")
        func answer(_ pending: Machine.PendingProxy, _ to: SIPMessage, _ status: Int) -> [Machine.Action] {
            machine.answerReceived(.response(SIPResponseBuilder.response(to: to, statusCode: status, reasonPhrase: "X", toTag: "t")), for: pending)
        }
        // The instance with two flows: its newer flow fails, the branch moves to its other flow.
        let moved = answer(branches[0].1, branches[0].0, 430)
        guard case .forward(let retry, _, let retryPending)? = moved.first else {
            Issue.record("expected the other flow, got \(moved)")
            return
        }
        #expect(Self.statuses(moved).isEmpty, "a 430 on a branch goes nowhere upstream")
        // The other instance answers; then the retried flow fails too: no new branch, no 430 upstream.
        #expect(Self.statuses(answer(branches[1].1, branches[1].0, 200)) == [200])
        let after = answer(retryPending, retry, 430)
        #expect(!after.contains { if case .forward = $0 { true } else { false } }, "§16.7 step 10: no new branch after a 2xx")
        #expect(Self.statuses(after).isEmpty, "nothing more goes up after the 2xx")
    }

    @Test func aCancelledInviteOpensNoNewFlow() throws {
        var machine = Machine(configuration: .init(), authenticator: Self.authenticator, tokens: .seeded(1))
        let first = Self.forwardedWithPending(&machine, bindings: Self.twoFlows())
        let (invite, pending) = try #require(first)
        var cancel = Self.request("CANCEL", to: "sip:alice@example.com")
        cancel.headers.set(.cseq, "1 CANCEL")
        _ = machine.requestReceived(cancel, flow: Self.callerFlow, now: Self.t0)
        let after = machine.answerReceived(.response(SIPResponseBuilder.response(to: invite, statusCode: 430, reasonPhrase: "Flow Failed")), for: pending)
        #expect(!after.contains { if case .forward = $0 { true } else { false } }, "RFC 3261 §16.10")
        #expect(Self.statuses(after) == [487])
    }

    @Test func withoutA2xxTheBestFinalGoesUpOnceEveryBranchAnswered() throws {
        func run(_ first: Int, _ second: Int) -> [Int] {
            var machine = Machine(configuration: .init(), authenticator: Self.authenticator, tokens: .seeded(1))
            let branches = Self.forked(&machine)
            let responses = [first, second].enumerated().map { index, status in
                machine.answerReceived(.response(SIPResponseBuilder.response(to: branches[index].0, statusCode: status, reasonPhrase: "X",
                                                                            toTag: "t\(index)")), for: branches[index].1)
            }
            return responses.flatMap(Self.statuses)
        }
        #expect(run(503, 486) == [486], "4xx before 5xx")
        #expect(run(486, 603) == [603], "a 6xx wins")
        #expect(run(503, 503) == [500], "§16.7 step 6: never a 503")
        #expect(run(486, 404) == [486], "the first of the class")
    }

    @Test func aClosedConnectionToAFlowAlsoMovesOnAndA503BecomesA500() throws {
        var machine = Machine(configuration: .init(), authenticator: Self.authenticator, tokens: .seeded(1))
        let first = Self.forwardedWithPending(&machine, bindings: Self.twoFlows())
        let (invite, pending) = try #require(first)
        let closed = machine.answerReceived(.failed(SIPStackError(.connectionClosed, "the flow closed")), for: pending)
        guard case .forward(_, _, let next)? = closed.first else {
            Issue.record("expected the next flow, got \(closed)")
            return
        }
        var unavailable = SIPResponseBuilder.response(to: invite, statusCode: 503, reasonPhrase: "Service Unavailable")
        unavailable.headers.append(.retryAfter, "120")
        guard case .respond(let answer)? = machine.answerReceived(.response(unavailable), for: next).first else {
            Issue.record("expected an answer")
            return
        }
        #expect(answer.statusLine?.statusCode == 500, "RFC 3261 §16.7 step 6")
        #expect(answer.headers[.retryAfter] == nil)
    }

    @Test func anInviteForARegisteredUserGoesOnItsRegisteredFlowUntilItCloses() throws {
        var harness = Harness()
        _ = harness.registerAlice()
        let forwarded = Self.forwarded(&harness.machine, bindings: harness.bindings)
        let (invite, hop) = try #require(forwarded)
        #expect(hop == .flow(Self.phoneFlow))
        #expect(invite.requestLine?.uri == "sip:8d3f2c1e-5b7a-4e90-9a61-d2f3c4b5a6e7@192.0.2.10:58980;transport=tls")
        #expect(invite.headers.lines(.recordRoute).first?.contains(Machine.routeMarker) == true)

        #expect(harness.machine.flowClosed(Self.phoneFlow).isEmpty)
        let again = Self.forwarded(&harness.machine, bindings: harness.bindings)
        let (_, after) = try #require(again)
        #expect(after == .address(transport: .tls, host: "192.0.2.10", port: 58_980), "the Contact address once the flow is gone")
    }

    /// SPEC B7, B15: the same instance and reg-id through another path (failover to another edge)
    /// replaces its binding, is marked new on that path, and requests follow it to the new flow.
    @Test func aRegisterThroughANewPathReplacesTheBindingAndMovesItsFlow() throws {
        var harness = Harness()
        _ = harness.registerAlice(cseq: 2)
        let newFlow = Flow(transport: .tcp, local: try SocketAddress(ipAddress: "127.0.0.1", port: 5060),
                           remote: try SocketAddress(ipAddress: "127.0.0.1", port: 41_000), connectionID: 3)
        let challengeAnswer = harness.register(Self.register(cseq: 3), flow: newFlow)
        let challenge = try #require(challengeAnswer)
        var moved = Self.authorized(cseq: 4, challenge: challenge)
        moved.headers.prepend(.path, "<sip:f3.abc@127.0.0.1:7002;transport=tls;lr;ob;x-ew-node=edge-2>")
        let movedAnswer = harness.register(moved, flow: newFlow)
        let answer = try #require(movedAnswer)
        #expect(answer.statusLine?.statusCode == 200)
        #expect(harness.bindings.count == 1, "one binding for (AOR, instance, reg-id)")
        #expect(try answer.contacts().first?.parameters.contains("x-cisco-newreg") == true, "new on this path")
        #expect(harness.bindings.first?.path == ["<sip:f3.abc@127.0.0.1:7002;transport=tls;lr;ob;x-ew-node=edge-2>"])
        let forwarded = Self.forwarded(&harness.machine, bindings: harness.bindings)
        #expect(try #require(forwarded).1 == Machine.NextHop.flow(newFlow))
        #expect(harness.machine.flowClosed(Self.phoneFlow).isEmpty, "the old flow closing changes nothing")
        let after = Self.forwarded(&harness.machine, bindings: harness.bindings)
        #expect(try #require(after).1 == Machine.NextHop.flow(newFlow))
    }

    @Test func storeFailuresAreAnswered503WithTheCauseAndRetryAfter() throws {
        var machine = Machine(configuration: .init(), authenticator: Self.authenticator, tokens: .seeded(1))
        struct Broken: Error, CustomStringConvertible { var description: String { "disk full" } }
        var challenger = Harness()
        let challengeAnswer = challenger.register(Self.register(cseq: 1))
        let challenge = try #require(challengeAnswer)
        let signed = Self.authorized(cseq: 2, challenge: challenge)
        guard case .lookUpAccount(_, _, let pending)? = machine.requestReceived(signed, flow: Self.phoneFlow, now: Self.t0).first else {
            Issue.record("expected lookUpAccount")
            return
        }
        guard case .respond(let accountFailure)? = machine.accountLookupFailed(Broken(), for: pending).first else {
            Issue.record("expected a response")
            return
        }
        #expect(accountFailure.statusLine?.statusCode == 503)
        #expect(accountFailure.headers[.retryAfter] == "2", "the store comes back by itself: retry, RFC 3261 §21.5.4")
        #expect(accountFailure.statusLine?.reasonPhrase.contains("disk full") == true)
        guard case .updateBindings(_, _, let update)? = machine.accountLoaded(Self.alice, for: pending, now: Self.t0).first,
              case .respond(let storeFailure)? = machine.bindingsUpdated(.failure(Broken()), for: update).first else {
            Issue.record("expected updateBindings, then a response")
            return
        }
        #expect(storeFailure.statusLine?.statusCode == 503)
        #expect(storeFailure.statusLine?.reasonPhrase == "Service Unavailable (location store: disk full)")
        #expect(storeFailure.headers[.retryAfter] == "2")
    }

    @Test func anUnregisteredUserGets480() {
        var machine = Machine(configuration: .init(), authenticator: Self.authenticator, tokens: .seeded(1))
        let actions = machine.requestReceived(Self.request("MESSAGE", to: "sip:carol@example.com"), flow: Self.callerFlow, now: Self.t0)
        guard case .lookUpBindings(_, let pending) = actions.first else {
            Issue.record("expected lookUpBindings, got \(actions)")
            return
        }
        guard case .respond(let answer) = machine.bindingsFound(.success([]), for: pending).first else {
            Issue.record("expected a response")
            return
        }
        #expect(answer.statusLine?.statusCode == 480)
    }

    @Test func aForwardThatTimesOutIsAnswered408() throws {
        var harness = Harness()
        _ = harness.registerAlice()
        let actions = harness.machine.requestReceived(Self.request("INVITE", to: "sip:alice@example.com"), flow: Self.callerFlow, now: Self.t0)
        guard case .lookUpBindings(_, let pending) = actions.first,
              case .forward(_, _, let forwarding) = harness.machine.bindingsFound(.success(harness.bindings), for: pending).first
        else {
            Issue.record("expected a forward")
            return
        }
        let answer = harness.machine.answerReceived(.failed(SIPStackError(.timeout, "Timer B fired")), for: forwarding)
        guard case .respond(let timeout) = answer.first else {
            Issue.record("expected a response, got \(answer)")
            return
        }
        #expect(timeout.statusLine?.statusCode == 408)
        #expect(timeout.statusLine?.reasonPhrase == "Request Timeout (Timer B fired)")
    }

    @Test func aCancelIsMatchedByTheOwner() {
        var machine = Machine(configuration: .init(), authenticator: Self.authenticator, tokens: .seeded(1))
        let actions = machine.requestReceived(Self.request("CANCEL", to: "sip:alice@example.com"), flow: Self.callerFlow, now: Self.t0)
        guard actions.count == 1, case .cancelForwarded(let ok, let unknown) = actions[0] else {
            Issue.record("expected cancelForwarded, got \(actions)")
            return
        }
        #expect(ok.statusLine?.statusCode == 200 && unknown.statusLine?.statusCode == 481)
    }

    @Test func theSameInputsWithTheSameSeedGiveTheSameAnswers() {
        func transcript(seed: UInt64) -> [String] {
            var harness = Harness(seed: seed)
            let challenge = harness.register(Self.register(cseq: 1))
            let ok = challenge.flatMap { harness.register(Self.authorized(cseq: 2, challenge: $0)) }
            return [Self.text(challenge), Self.text(ok)]
        }
        #expect(transcript(seed: 42) == transcript(seed: 42))
        #expect(transcript(seed: 42) != transcript(seed: 43), "the To-tags come from the seed")
    }
}
