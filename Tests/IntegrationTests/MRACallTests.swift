import Foundation
import NIOCore
import Settings
import SIPCore
import SIPTransport
import Testing
import TestSupport

/// SPEC B6, B20: two phones on different edges call each other through edge → core → registrar
/// → core → edge, over each callee's own TLS connection, in default and in Path mode.
@Suite("MRA calls", .serialized)
struct MRACallTests {
    @Test(arguments: [false, true])
    func aCallReachesThePhoneOnAnotherEdgeAndTheDialogFollows(pathMode: Bool) async throws {
        let lab = try await MRADeployment.start(cores: 2, edges: 2, coreSettings: pathMode ? [(.sipPathHeaders, "On")] : [])
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        let bob = try TestPhone(user: "bob", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress(0)))
        try expectOK(try await bob.register(at: lab.edgeAddress(1)))
        let aliceFlow = try #require(alice.flow.read { $0 })
        // SPEC B6: the registrar holds the core's rewriting of the Contact, or the phone's own with a Path.
        let binding = try #require(try await lab.bindings(of: "bob").first)
        if pathMode {
            #expect(binding.path.count == 2, "core and edge in Path")
            #expect(!binding.contactURI.contains("orig-hostport"))
        } else {
            #expect(binding.path.isEmpty)
            #expect(binding.contactURI.contains("orig-hostport="))
        }

        let invite = alice.invite("bob", callID: "call-\(pathMode)")
        let provisional = LockedBox<[Int]>([])
        let answer = try await alice.stack.send(request: invite, on: aliceFlow) { response in
            provisional.mutate { $0.append(response.statusLine!.statusCode) }
        }
        try expectOK(answer)
        #expect(provisional.read { $0 }.contains(180))
        let delivered = try #require(bob.requests("INVITE").first)
        #expect(delivered.body.readableBytes == 4, "the SDP passes through untouched")
        #expect(try answer.nameAddresses(.recordRoute).count == 5, "edge, core, registrar, core, edge stay in the dialog")

        alice.stack.sendStateless(try alice.inDialog("ACK", cseq: 1, after: invite, answer: answer), on: aliceFlow)
        let bye = try await alice.stack.send(request: try alice.inDialog("BYE", cseq: 2, after: invite, answer: answer), on: aliceFlow)
        #expect(bye.statusLine?.statusCode == 200)
        try await eventually("bob got the ACK") { !bob.requests("ACK").isEmpty }
        #expect(bob.requests("BYE").count == 1)
        await alice.close()
        await bob.close()
        await lab.shutdown()
    }

    /// bob's one instance registered with two flows (reg-id 1 via edge-1, reg-id 2 via edge-2),
    /// and alice registered via edge-1 to call him.
    static func bobWithTwoFlows(_ lab: MRADeployment) async throws -> (onEdge1: TestPhone, onEdge2: TestPhone, alice: TestPhone) {
        let instance = "<urn:uuid:00000000-0000-4000-8000-00000000b0b0>"
        let bobOnEdge1 = try TestPhone(user: "bob", caPEM: lab.caPEM, instance: instance, regID: 1)
        let bobOnEdge2 = try TestPhone(user: "bob", caPEM: lab.caPEM, instance: instance, regID: 2)
        try expectOK(try await bobOnEdge1.register(at: lab.edgeAddress(0)))
        try expectOK(try await bobOnEdge2.register(at: lab.edgeAddress(1)))
        #expect(try await lab.bindings(of: "bob").count == 2, "two flows of one instance")
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress(0)))
        return (bobOnEdge1, bobOnEdge2, alice)
    }

    /// Issue 18, fault 1 (RFC 5626 §5.3, §7; RFC 3261 §16.7 step 6): one instance registered with
    /// two flows (reg-id 1 via edge-1, reg-id 2 via edge-2); when the newer flow's connection is
    /// gone the call goes to the other flow, and with none left the caller gets 480, never 430.
    @Test func aCallForAnInstanceWhoseFlowFailedTakesItsOtherFlowAndNeverGets430() async throws {
        let lab = try await MRADeployment.start(cores: 1, edges: 2)
        let (bobOnEdge1, bobOnEdge2, alice) = try await Self.bobWithTwoFlows(lab)
        let aliceFlow = try #require(alice.flow.read { $0 })

        await bobOnEdge2.close()
        let answer = try await alice.stack.send(request: alice.invite("bob", callID: "call-flow-failed"), on: aliceFlow)
        try expectOK(answer)
        #expect(bobOnEdge1.requests("INVITE").count == 1, "the call took the flow that is left")

        await bobOnEdge1.close()
        let none = try await alice.stack.send(request: alice.invite("bob", callID: "call-no-flow"), on: aliceFlow)
        #expect(none.statusLine?.statusCode == 480, "got \(none.statusLine.map { "\($0.statusCode) \($0.reasonPhrase)" } ?? "?")")
        await alice.close()
        await lab.shutdown()
    }

    /// Issue 18, fault 1 (RFC 3261 §16.6–§16.7, RFC 5626 §7): bob registered from two devices on
    /// two edges; a call rings both, the first to answer takes it and the other is cancelled.
    @Test func aCallForksToEveryDeviceAndTheOthersAreCancelledWhenOneAnswers() async throws {
        let lab = try await MRADeployment.start(cores: 1, edges: 2)
        let desk = try TestPhone(user: "bob", caPEM: lab.caPEM)
        let mobile = try TestPhone(user: "bob", caPEM: lab.caPEM, answerInvites: false)
        try expectOK(try await desk.register(at: lab.edgeAddress(0)))
        try expectOK(try await mobile.register(at: lab.edgeAddress(1)))
        #expect(try await lab.bindings(of: "bob").count == 2, "two instances")
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress(0)))
        let answer = try await alice.stack.send(request: alice.invite("bob", callID: "call-forked"), on: try #require(alice.flow.read { $0 }))
        try expectOK(answer)
        #expect(desk.requests("INVITE").count == 1 && mobile.requests("INVITE").count == 1, "both devices rang")
        try await eventually("the device that did not answer is cancelled") { !mobile.requests("CANCEL").isEmpty }
        for phone in [alice, desk, mobile] { await phone.close() }
        await lab.shutdown()
    }

    /// The same when the edge of the newer flow dies: the core answers 430 for the link that is
    /// down, and the registrar takes the flow through the other edge.
    @Test func aCallForAnInstanceWhoseEdgeDiedTakesItsFlowThroughTheOtherEdge() async throws {
        let lab = try await MRADeployment.start(cores: 1, edges: 2)
        let (bobOnEdge1, bobOnEdge2, alice) = try await Self.bobWithTwoFlows(lab)
        await lab.edges[1].shutdown()
        try await eventually("the core sees edge-2's link down") {
            await lab.cores[0].service.status.contains { $0.path.hasSuffix(" State") && $0.value == "Down" }
        }
        let answer = try await alice.stack.send(request: alice.invite("bob", callID: "call-edge-died"), on: try #require(alice.flow.read { $0 }))
        try expectOK(answer)
        #expect(bobOnEdge1.requests("INVITE").count == 1)
        for phone in [alice, bobOnEdge1, bobOnEdge2] { await phone.close() }
        await lab.shutdown()
    }

    @Test func aCalleesServiceUnavailableReachesTheCallerAs500() async throws {
        let lab = try await MRADeployment.start(cores: 1, edges: 2)
        let bob = try TestPhone(user: "bob", caPEM: lab.caPEM, refuseInvites: 503)
        try expectOK(try await bob.register(at: lab.edgeAddress(1)))
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress(0)))
        let answer = try await alice.stack.send(request: alice.invite("bob", callID: "call-503"), on: try #require(alice.flow.read { $0 }))
        #expect(answer.statusLine?.statusCode == 500, "RFC 3261 §16.7 step 6: a proxy does not relay a 503")
        #expect(answer.headers[.retryAfter] == nil, "the callee's Retry-After is not the registrar's")
        await alice.close()
        await bob.close()
        await lab.shutdown()
    }

    @Test func aCancelledCallEndsWith487() async throws {
        let lab = try await MRADeployment.start(edges: 2)
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        let carol = try TestPhone(user: "carol", caPEM: lab.caPEM, answerInvites: false)
        try expectOK(try await alice.register(at: lab.edgeAddress(0)))
        try expectOK(try await carol.register(at: lab.edgeAddress(1)))
        let aliceFlow = try #require(alice.flow.read { $0 })
        let invite = alice.invite("carol", callID: "call-cancel")
        let call = try await alice.callUntilRinging(invite)
        var cancel = SIPMessage.request(method: "CANCEL", uri: invite.requestLine!.uri)
        cancel.headers.append(.via, invite.headers[.via]!)
        for name in [SIPHeaderName.from, .to, .callID] { cancel.headers.append(name, invite.headers[name]!) }
        cancel.headers.append(.cseq, "1 CANCEL")
        cancel.headers.append(.maxForwards, "70")
        cancel.headers.append(.contentLength, "0")
        #expect(try await alice.stack.send(request: cancel, on: aliceFlow).statusLine?.statusCode == 200)
        #expect(try await call.value.statusLine?.statusCode == 487)
        #expect(carol.requests("CANCEL").count == 1)
        await alice.close()
        await carol.close()
        await lab.shutdown()
    }
}

/// SPEC B2: an edge in maintenance mode refuses new registrations and calls with 503; a dialog
/// already set up through it goes on.
@Suite("MRA maintenance", .serialized)
struct MRAMaintenanceTests {
    @Test func anEdgeInMaintenanceRefusesNewRegistrationsAndKeepsDialogs() async throws {
        let lab = try await MRADeployment.start(edges: 2)
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        let bob = try TestPhone(user: "bob", caPEM: lab.caPEM)
        let carol = try TestPhone(user: "carol", caPEM: lab.caPEM)
        try expectOK(try await alice.register(at: lab.edgeAddress(0)))
        try expectOK(try await bob.register(at: lab.edgeAddress(1)))
        let aliceFlow = try #require(alice.flow.read { $0 })
        let invite = alice.invite("bob", callID: "call-maintenance")
        let answer = try await alice.stack.send(request: invite, on: aliceFlow)
        try expectOK(answer)
        alice.stack.sendStateless(try alice.inDialog("ACK", cseq: 1, after: invite, answer: answer), on: aliceFlow)

        _ = try lab.edges[0].settings.set(.maintenanceMode, to: "On")
        let refused = try await carol.register(at: lab.edgeAddress(0))
        #expect(refused.statusLine?.statusCode == 503)
        #expect(refused.statusLine?.reasonPhrase.contains("maintenance") == true)
        let newCall = try await alice.stack.send(request: alice.invite("bob", callID: "call-refused"), on: aliceFlow)
        #expect(newCall.statusLine?.statusCode == 503)
        let bye = try await alice.stack.send(request: try alice.inDialog("BYE", cseq: 2, after: invite, answer: answer), on: aliceFlow)
        #expect(bye.statusLine?.statusCode == 200, "the established dialog goes on")
        #expect(try await carol.register(at: lab.edgeAddress(1)).statusLine?.statusCode == 200, "the other edge takes new registrations")
        for phone in [alice, bob, carol] { await phone.close() }
        await lab.shutdown()
    }
}
