import Foundation
import SIPCore
import Testing
import TestSupport

/// Issue 19, point 4: every role lists its registrations (one user's with `--user`) and the calls
/// through it, the registrar with an admin API like the others.
@Suite("Registrations and calls listed on every role", .serialized)
struct StatusListingTests {
    @Test func everyRoleListsItsRegistrationsAndTheCallsThroughIt() async throws {
        let lab = try await MRADeployment.start(cores: 1, edges: 2)
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        let bob = try TestPhone(user: "bob", caPEM: lab.caPEM, instance: "<urn:uuid:00000000-0000-4000-8000-00000000b0b0>", regID: 1)
        try expectOK(try await alice.register(at: lab.edgeAddress(0)))
        try expectOK(try await bob.register(at: lab.edgeAddress(1)))
        let aliceFlow = try #require(alice.flow.read { $0 })

        for (node, query) in [("registrar", "registrations --user bob@EXAMPLE.com"), ("core-1", "Registrations User: sip:bob@example.com"),
                              ("edge-2", "registrations --user bob")] {
            let listed = try await lab.cli("xstatus", query, node: node)
            #expect(listed.status == 0, "\(node): \(listed.output)")
            for line in ["*s Registrations Count: 1", "Registration 1 AOR: \"sip:bob@example.com\"",
                         "Registration 1 Instance: \"urn:uuid:00000000-0000-4000-8000-00000000b0b0\"", "Registration 1 RegId: 1",
                         "Registration 1 Edge: \"edge-2\""] {
                #expect(listed.output.contains(line), "\(node) lists \(line): \(listed.output)")
            }
            #expect(!listed.output.contains("alice"), "\(node): only bob's")
        }
        let edge = try await lab.cli("xstatus", "Registrations", node: "edge-1")
        #expect(edge.output.contains("Registrations Count: 1") && edge.output.contains("Registration 1 AOR: \"sip:alice@example.com\""), "\(edge.output)")
        #expect(edge.output.contains("Registration 1 ARSK: On") && edge.output.contains("Registration 1 Flow: \"tls 127.0.0.1:"), "\(edge.output)")
        #expect(edge.output.contains("Registration 1 Device: \"CSFALICE\""), "the device name of the Contact: \(edge.output)")

        let invite = alice.invite("bob", callID: "call-listed")
        let answer = try await alice.stack.send(request: invite, on: aliceFlow)
        try expectOK(answer)
        alice.stack.sendStateless(try alice.inDialog("ACK", cseq: 1, after: invite, answer: answer), on: aliceFlow)
        for node in ["edge-1", "core-1", "registrar", "edge-2"] {
            let calls = try await lab.cli("xstatus", "Calls", node: node)
            for line in ["*s Calls Count: 1", "Call 1 CallId: \"call-listed\"", "Call 1 From: \"sip:alice@example.com\"",
                         "Call 1 To: \"sip:bob@example.com\"", "Call 1 Legs: \"", " 127.0.0.1:", " → ", "Call 1 Age: "] {
                #expect(calls.output.contains(line), "\(node) lists \(line): \(calls.output)")
            }
        }
        // One core carries both sides of the call: one call, two passes.
        let core = try await lab.cli("xstatus", "Calls", node: "core-1")
        let legs = core.output.split(separator: "\n").first { $0.contains("Call 1 Legs:") }
        #expect(legs?.components(separatedBy: " → ").count == 3, "two pairs of legs: \(legs ?? "")")
        let bye = try await alice.stack.send(request: try alice.inDialog("BYE", cseq: 2, after: invite, answer: answer), on: aliceFlow)
        #expect(bye.statusLine?.statusCode == 200)
        for node in ["edge-1", "core-1", "registrar", "edge-2"] {
            let calls = try await lab.cli("xstatus", "Calls", node: node)
            #expect(calls.output.contains("*s Calls Count: 0"), "\(node): the BYE ended it: \(calls.output)")
        }
        await alice.close()
        await bob.close()
        await lab.shutdown()
    }
}
