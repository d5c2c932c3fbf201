import SIPCore
import Testing
import TestSupport
@testable import Location

/// RFC 3261 §10.3 step 7 matches Contacts by §19.1.4 (issue 17, fault 3): the user part is
/// case-sensitive, the rest is not, and parameter order does not matter.
@Suite("Contact equivalence")
struct ContactEquivalenceTests {
    let rules = BindingRulesTests()

    func apply(_ contact: String, callID: String, expires: Int? = nil, to bindings: [Binding]) -> [Binding] {
        let decision = BindingRules.apply(rules.register(callID: callID, contact: contact, expires: expires), aor: rules.aor,
                                          to: bindings, pathIdentity: "p", policy: rules.policy, now: rules.now)
        guard case .accept(let updated, _) = decision else {
            Issue.record("refused: \(decision)")
            return bindings
        }
        return updated
    }

    @Test func theSameContactInOtherCaseOrOrderIsOneBindingAndExpiresZeroRemovesIt() {
        var bindings = apply("<sip:u@host-a.example.com:5062;transport=tcp;lr>", callID: "c1", to: [])
        bindings = apply("<sip:u@HOST-A.Example.COM:5062;TRANSPORT=TCP;LR>", callID: "c2", to: bindings)
        bindings = apply("<sip:u@host-a.example.com:5062;lr;transport=tcp>", callID: "c3", to: bindings)
        #expect(bindings.count == 1)
        bindings = apply("<sip:u@Host-A.example.com:5062;Transport=Tcp;lr>", callID: "c4", expires: 0, to: bindings)
        #expect(bindings.isEmpty, "the Expires: 0 removes the equivalent binding")
    }

    @Test func theUserPartAndThePortStillTellContactsApart() {
        var bindings = apply("<sip:u@host-a.example.com:5062>", callID: "c1", to: [])
        bindings = apply("<sip:U@host-a.example.com:5062>", callID: "c2", to: bindings)
        bindings = apply("<sip:u@host-a.example.com>", callID: "c3", to: bindings)
        #expect(bindings.count == 3)
    }
}
