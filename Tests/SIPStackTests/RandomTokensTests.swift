import SIPStack
import Testing

@Suite("Random tokens")
struct RandomTokensTests {
    /// Values drawn across several refills of the pool are all different and use the high bits.
    @Test func valuesAcrossRefillsAreDistinct() {
        let values = (0..<2_000).map { _ in RandomTokens.next() }
        #expect(Set(values).count == values.count)
        #expect(values.contains { $0 >> 63 == 1 } && values.contains { $0 >> 63 == 0 })
    }
}
