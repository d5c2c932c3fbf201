import PhoneLogic
import Testing
import TestSupport

/// RFC 2782 ordering over 10,000 seeded draws.
@Suite("SRV order")
struct SRVOrderTests {
    @Test func lowerPriorityAlwaysComesFirst() {
        var generator = SeededGenerator(seed: 1)
        let records = [SRVRecord(priority: 20, weight: 100, port: 5061, target: "backup"),
                       SRVRecord(priority: 10, weight: 0, port: 5061, target: "main")]
        for _ in 0..<100 {
            #expect(SRVOrder.ordered(records, using: &generator).map(\.target) == ["main", "backup"])
        }
    }

    @Test func weightsShareTheFirstPlaceWithinStatisticalBounds() {
        var generator = SeededGenerator(seed: 2026)
        let records = [SRVRecord(priority: 10, weight: 60, port: 5061, target: "a"),
                       SRVRecord(priority: 10, weight: 30, port: 5061, target: "b"),
                       SRVRecord(priority: 10, weight: 10, port: 5061, target: "c")]
        var first: [String: Int] = [:]
        let draws = 10_000
        for _ in 0..<draws {
            let order = SRVOrder.ordered(records, using: &generator)
            #expect(Set(order) == Set(records))
            first[order[0].target, default: 0] += 1
        }
        // Expected shares 60/30/10 % (draws in 0...total give weight w a share of about w/(total+1));
        // 5 standard deviations of a binomial with n = 10,000 is under 2.5 %.
        for (target, share) in [("a", 0.6), ("b", 0.3), ("c", 0.1)] {
            let observed = Double(first[target, default: 0]) / Double(draws)
            #expect(abs(observed - share) < 0.025, "\(target): \(observed)")
        }
    }
}
