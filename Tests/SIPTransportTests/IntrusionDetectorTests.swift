import NIOCore
import SIPTransport
import Testing

/// SPEC B28: the intrusion detector as a value, on an injected clock.
@Suite("Intrusion detector")
struct IntrusionDetectorTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    let rule = IntrusionRule(triggerLevel: 3, detectionWindow: .seconds(10), blockDuration: .seconds(60))

    func detector(exempt: [String] = []) -> IntrusionDetector {
        IntrusionDetector(policy: IntrusionPolicy(rules: [.sipMalformed: rule], exemptions: exempt.compactMap(AddressPrefix.init)))
    }

    func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }

    @Test func aSourceAtTheTriggerLevelIsBlockedAndOthersAreNot() {
        var detector = detector()
        #expect(detector.record(.sipMalformed, from: "192.0.2.1", at: at(0)) == nil)
        #expect(detector.record(.sipMalformed, from: "192.0.2.2", at: at(1)) == nil)
        #expect(detector.record(.sipMalformed, from: "192.0.2.1", at: at(2)) == nil)
        let block = detector.record(.sipMalformed, from: "192.0.2.1", at: at(3))
        #expect(block?.source == "192.0.2.1")
        #expect(block?.category == .sipMalformed)
        #expect(block?.until == at(63))
        #expect(detector.isBlocked("192.0.2.1", at: at(4)))
        #expect(!detector.isBlocked("192.0.2.2", at: at(4)))
        #expect(detector.blocked.map(\.source) == ["192.0.2.1"])
    }

    @Test func eventsInAnEarlierWindowDoNotCount() {
        var detector = detector()
        _ = detector.record(.sipMalformed, from: "192.0.2.1", at: at(0))
        _ = detector.record(.sipMalformed, from: "192.0.2.1", at: at(5))
        // The window that began at 0 s ended at 10 s: counting starts again.
        #expect(detector.record(.sipMalformed, from: "192.0.2.1", at: at(10)) == nil)
        #expect(detector.record(.sipMalformed, from: "192.0.2.1", at: at(11)) == nil)
        #expect(detector.record(.sipMalformed, from: "192.0.2.1", at: at(12)) != nil)
    }

    @Test func aBlockEndsAfterItsTimeOrByCommand() {
        var detector = detector()
        for second in 0..<3 { _ = detector.record(.sipMalformed, from: "192.0.2.1", at: at(Int64(second))) }
        for second in 0..<3 { _ = detector.record(.sipMalformed, from: "192.0.2.7", at: at(Int64(second))) }
        #expect(detector.expire(at: at(61)).isEmpty)
        #expect(detector.expire(at: at(62)).map(\.source) == ["192.0.2.1", "192.0.2.7"])
        #expect(!detector.isBlocked("192.0.2.1", at: at(62)))
        #expect(!detector.hasBlocks)

        for second in 100..<103 { _ = detector.record(.sipMalformed, from: "192.0.2.1", at: at(Int64(second))) }
        #expect(detector.isBlocked("192.0.2.1", at: at(103)))
        #expect(detector.unblock("192.0.2.1")?.category == .sipMalformed)
        #expect(!detector.isBlocked("192.0.2.1", at: at(103)))
        #expect(detector.unblock("192.0.2.1") == nil)
    }

    @Test func anExemptSourceIsNeverBlocked() {
        var detector = detector(exempt: ["10.0.0.0/8", "2001:db8::/32", "192.0.2.9"])
        for second in 0..<50 {
            for source in ["10.1.2.3", "2001:db8::5", "192.0.2.9"] {
                #expect(detector.record(.sipMalformed, from: source, at: at(Int64(second))) == nil)
            }
        }
        #expect(detector.blocked.isEmpty)
        #expect(detector.record(.sipMalformed, from: "11.0.0.1", at: at(0)) == nil)
    }

    @Test func aCategoryWithoutARuleOrADisabledPolicyCountsNothing() {
        var detector = detector()
        for second in 0..<10 { #expect(detector.record(.sipRequestRate, from: "192.0.2.1", at: at(Int64(second))) == nil) }
        var off = IntrusionDetector(policy: .off)
        for second in 0..<10 { #expect(off.record(.sipMalformed, from: "192.0.2.1", at: at(Int64(second))) == nil) }
    }

    @Test func aSprayOfSourcesStaysWithinTheBound() {
        var detector = IntrusionDetector(policy: IntrusionPolicy(rules: [.sipMalformed: rule]), maxSources: 100)
        for index in 0..<1_000 {
            _ = detector.record(.sipMalformed, from: "198.51.\(index / 256).\(index % 256)", at: at(0))
        }
        #expect(detector.countedSources <= 100, "at most maxSources counted: \(detector.countedSources)")
        // The newest sources are still counted: two more events block the last one.
        _ = detector.record(.sipMalformed, from: "198.51.3.231", at: at(1))
        #expect(detector.record(.sipMalformed, from: "198.51.3.231", at: at(1)) != nil)
    }

    @Test func prefixesParseAndMatchAsWritten() {
        #expect(AddressPrefix("10.0.0.0/8")?.description == "10.0.0.0/8")
        #expect(AddressPrefix("10.1.2.3/8")?.description == "10.0.0.0/8")
        #expect(AddressPrefix("192.0.2.9")?.description == "192.0.2.9/32")
        #expect(AddressPrefix("::1")?.description == "::1/128")
        #expect(AddressPrefix("2001:db8::5/32")?.description == "2001:db8::/32")
        #expect(AddressPrefix("::ffff:10.1.2.3")?.description == "10.1.2.3/32", "an IPv4-mapped address is that IPv4 address")
        #expect(AddressPrefix("10.0.0.0/33") == nil)
        #expect(AddressPrefix("example.com") == nil)
        let policy = IntrusionPolicy(exemptions: ["127.0.0.0/8", "::1"].compactMap(AddressPrefix.init))
        #expect(policy.exempts("127.0.0.5"))
        #expect(policy.exempts("::1"))
        #expect(!policy.exempts("128.0.0.1"))
        #expect(!policy.exempts("::2"))
    }
}
