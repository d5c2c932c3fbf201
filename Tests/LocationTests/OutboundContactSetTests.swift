import SIPCore
import Testing
import TestSupport
@testable import Location

/// RFC 5626 §6 and §12 on the Contact set of a REGISTER (issue 17, fault 2): reg-id is 1…2³¹−1,
/// and a Contact that registers with a reg-id is the only one registered by that REGISTER.
@Suite("RFC 5626 Contact set")
struct OutboundContactSetTests {
    let rules = BindingRulesTests()

    func decide(_ contacts: String, expires: Int? = nil) -> BindingDecision {
        BindingRules.apply(rules.register(contact: contacts, expires: expires), aor: rules.aor, to: [], pathIdentity: "p",
                           policy: rules.policy, now: rules.now)
    }

    func status(_ decision: BindingDecision) -> Int {
        switch decision {
        case .accept: 200
        case .reject(let status, _, _): status
        }
    }

    static let instance = #"+sip.instance="<urn:uuid:00000000-0000-1000-8000-00000000a0a0>""#

    @Test(arguments: ["0", "2147483648", "99999999999", "-1", "1x"])
    func aRegIDOutOfRangeIsRefused(regID: String) {
        #expect(status(decide("<sip:alice@192.0.2.10:5062>;\(Self.instance);reg-id=\(regID)")) == 400)
        #expect(status(decide("<sip:alice@192.0.2.10:5062>;\(Self.instance);x-cisco-reg-id=\(regID)")) == 400)
    }

    @Test func theEndsOfTheRangeAreAccepted() {
        #expect(status(decide("<sip:alice@192.0.2.10:5062>;\(Self.instance);reg-id=1")) == 200)
        guard case .accept(let bindings, _) = decide("<sip:alice@192.0.2.10:5062>;\(Self.instance);reg-id=2147483647") else {
            Issue.record("not accepted")
            return
        }
        #expect(bindings.first?.regID == 2_147_483_647)
    }

    @Test func twoRegisteringContactsOneWithRegIDAreRefused() {
        let two = "<sip:alice@192.0.2.10:5062>;\(Self.instance);reg-id=1, <sip:alice@192.0.2.11:5062>"
        guard case .reject(400, let reason, _) = decide(two) else {
            Issue.record("not refused with 400")
            return
        }
        #expect(reason.contains("RFC 5626 §6"))
    }

    @Test func aSecondContactThatOnlyUnregistersIsAllowed() {
        let two = "<sip:alice@192.0.2.10:5062>;\(Self.instance);reg-id=1, <sip:alice@192.0.2.11:5062>;expires=0"
        #expect(status(decide(two)) == 200)
        #expect(status(decide("<sip:alice@192.0.2.10:5062>, <sip:alice@192.0.2.11:5062>")) == 200, "RFC 3261 Contacts alone")
    }

    @Test func aRegIDWithoutAnInstanceIsIgnored() {
        guard case .accept(let bindings, _) = decide("<sip:alice@192.0.2.10:5062>;reg-id=1") else {
            Issue.record("not accepted")
            return
        }
        #expect(bindings.first?.regID == nil)
        #expect(bindings.first?.key == BindingKey(instance: nil, regID: nil, contactURI: "sip:alice@192.0.2.10:5062"))
    }
}
