import Foundation
import SIPCore
import Testing
import TestSupport
@testable import Location

/// RFC 3261 §10.3 and RFC 5626 §6 binding rules (SPEC B7): one event, one expectation.
@Suite("Binding rules")
struct BindingRulesTests {
    let aor = "sip:alice@example.com"
    let policy = RegistrationPolicy()
    let now: Int64 = 1_000_000

    func register(callID: String = "c1", cseq: Int = 1, contact: String = MRAFixtures.contact, expires: Int? = nil,
                  extra: String = "") -> SIPMessage {
        let expiresLine = expires.map { "Expires: \($0)\r\n" } ?? ""
        return try! SIPParser.parse("""
            REGISTER sip:example.com SIP/2.0\r
            Via: SIP/2.0/TLS 192.0.2.10:58980;branch=z9hG4bK\(cseq)\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=f\r
            To: <sip:alice@example.com>\r
            Call-ID: \(callID)\r
            CSeq: \(cseq) REGISTER\r
            Contact: \(contact)\r
            \(expiresLine)\(extra)Content-Length: 0\r
            \r

            """)
    }

    func accept(_ decision: BindingDecision) -> (bindings: [Binding], newOnPath: Set<BindingKey>)? {
        if case .accept(let bindings, let newOnPath) = decision { return (bindings, newOnPath) }
        return nil
    }

    func first(path: String = "edge-1") -> [Binding] {
        accept(BindingRules.apply(register(), aor: aor, to: [], pathIdentity: path, policy: policy, now: now))!.bindings
    }

    @Test func aNewBindingGetsTheDefaultExpiresAndIsNewOnThePath() throws {
        let result = try #require(accept(BindingRules.apply(register(), aor: aor, to: [], pathIdentity: "edge-1", policy: policy, now: now)))
        let binding = try #require(result.bindings.first)
        #expect(binding.expiresAt == now + 120_000)
        #expect(binding.instanceID == "urn:uuid:00000000-0000-0000-0000-0050569a1b2c" && binding.regID == 1)
        #expect(result.newOnPath == [binding.key])
    }

    @Test func tooBriefIsRefusedWith423AndMinExpires() {
        let decision = BindingRules.apply(register(expires: 30), aor: aor, to: [], pathIdentity: "edge-1", policy: policy, now: now)
        #expect(decision == .reject(status: 423, reasonPhrase: "Interval Too Brief", minExpires: 60))
    }

    @Test func aRefreshOnTheSamePathIsNotNew() throws {
        let result = try #require(accept(BindingRules.apply(register(cseq: 2), aor: aor, to: first(), pathIdentity: "edge-1",
                                                            policy: policy, now: now + 100_000)))
        #expect(result.bindings.count == 1 && result.bindings[0].cseq == 2 && result.newOnPath.isEmpty)
        #expect(result.bindings[0].expiresAt == now + 100_000 + 120_000)
    }

    @Test func aLateRefreshWithTheSameCallIDAndNoHigherCSeqFails() {
        let decision = BindingRules.apply(register(cseq: 1), aor: aor, to: first(), pathIdentity: "edge-2", policy: policy, now: now)
        #expect(decision == .reject(status: 500, reasonPhrase: "Out Of Order CSeq", minExpires: nil))
    }

    @Test func failoverThroughAnotherPathReplacesTheBindingAndIsNewThere() throws {
        let result = try #require(accept(BindingRules.apply(register(cseq: 2), aor: aor, to: first(), pathIdentity: "edge-2",
                                                            policy: policy, now: now)))
        #expect(result.bindings.count == 1 && result.bindings[0].pathIdentity == "edge-2")
        #expect(result.newOnPath == [result.bindings[0].key])
    }

    @Test func anotherCallIDForTheSameInstanceAndRegIDReplaces() throws {
        let result = try #require(accept(BindingRules.apply(register(callID: "c2", cseq: 1), aor: aor, to: first(),
                                                            pathIdentity: "edge-1", policy: policy, now: now)))
        #expect(result.bindings.count == 1 && result.bindings[0].callID == "c2")
    }

    @Test func aSecondInstanceAddsASecondBinding() throws {
        let other = MRAFixtures.contact.replacingOccurrences(of: "0050569a1b2c", with: "0050569a9999")
        let result = try #require(accept(BindingRules.apply(register(callID: "c2", contact: other), aor: aor, to: first(),
                                                            pathIdentity: "edge-1", policy: policy, now: now)))
        #expect(result.bindings.count == 2)
    }

    @Test func expiresZeroRemoves() throws {
        let result = try #require(accept(BindingRules.apply(register(cseq: 2, expires: 0), aor: aor, to: first(),
                                                            pathIdentity: "edge-1", policy: policy, now: now)))
        #expect(result.bindings.isEmpty)
    }

    @Test func wildcardWithExpiresZeroRemovesAll() throws {
        let result = try #require(accept(BindingRules.apply(register(cseq: 2, contact: "*", expires: 0), aor: aor, to: first(),
                                                            pathIdentity: "edge-1", policy: policy, now: now)))
        #expect(result.bindings.isEmpty)
    }

    @Test func wildcardWithoutExpiresZeroIsABadRequest() {
        let decision = BindingRules.apply(register(cseq: 2, contact: "*"), aor: aor, to: first(), pathIdentity: "edge-1",
                                          policy: policy, now: now)
        #expect(decision == .reject(status: 400, reasonPhrase: "Bad Request", minExpires: nil))
    }

    @Test func expiredBindingsAreDropped() throws {
        let result = try #require(accept(BindingRules.apply(register(callID: "c9", cseq: 1, contact: "<sip:other@192.0.2.20>"),
                                                            aor: aor, to: first(), pathIdentity: "edge-1", policy: policy,
                                                            now: now + 121_000)))
        #expect(result.bindings.map(\.contactURI) == ["sip:other@192.0.2.20"])
    }

    @Test func longExpiresIsShortenedToTheMaximum() throws {
        let result = try #require(accept(BindingRules.apply(register(expires: 86_400), aor: aor, to: [], pathIdentity: "edge-1",
                                                            policy: policy, now: now)))
        #expect(result.bindings[0].expiresAt == now + 3_600_000)
    }

    @Test func theOKListsEveryBindingWithItsExpiresAndMarksNewOnes() throws {
        let result = try #require(accept(BindingRules.apply(register(), aor: aor, to: [], pathIdentity: "edge-1", policy: policy, now: now)))
        let contacts = BindingRules.responseContacts(result.bindings, newOnPath: result.newOnPath, now: now + 20_000)
        #expect(contacts == [MRAFixtures.contact + ";expires=100;x-cisco-newreg"])
    }

    /// A binding keeps its Contact without `expires`; the OK states the time left, and a value
    /// stored with `expires` (before bindings were kept without it) has it replaced in place.
    @Test func theOKStatesTheTimeLeftWhetherOrNotTheStoredValueHadExpires() throws {
        let request = register(contact: "<sip:bob@192.0.2.20:5061;transport=tls>;expires=300;+sip.instance=\"<urn:uuid:b>\"")
        let result = try #require(accept(BindingRules.apply(request, aor: aor, to: [], pathIdentity: "edge-1", policy: policy, now: now)))
        #expect(result.bindings[0].contactValue == "<sip:bob@192.0.2.20:5061;transport=tls>;+sip.instance=\"<urn:uuid:b>\"")
        #expect(BindingRules.responseContacts(result.bindings, newOnPath: [], now: now)
                == ["<sip:bob@192.0.2.20:5061;transport=tls>;+sip.instance=\"<urn:uuid:b>\";expires=300"])
        var legacy = result.bindings[0]
        legacy.contactValue = "<sip:bob@192.0.2.20:5061>;Expires=3600;x-cisco-newreg;a=b"
        #expect(BindingRules.responseContacts([legacy], newOnPath: [legacy.key], now: now + 100_000)
                == ["<sip:bob@192.0.2.20:5061>;Expires=200;x-cisco-newreg;a=b"])
    }
}

@Suite("In-memory location store")
struct InMemoryLocationStoreTests {
    @Test func conformsToTheLocationStoreSuite() async throws {
        #expect(try await LocationStoreConformance.failures(of: InMemoryLocationStore()) == [])
    }
}
