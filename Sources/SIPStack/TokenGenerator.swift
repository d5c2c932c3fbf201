/// Where a role machine draws its tags, branches and transaction ids (RFC 3261 §19.3 wants them
/// random): the kernel's generator in a running node, a seeded sequence in tests, so the same
/// inputs always give the same actions.
public struct TokenGenerator: Sendable {
    private var seeded: UInt64?

    /// Random values from ``RandomTokens`` (the kernel's generator).
    public static var system: TokenGenerator { TokenGenerator(seeded: nil) }

    /// A repeatable sequence (SplitMix64) from `seed`: for tests only.
    public static func seeded(_ seed: UInt64) -> TokenGenerator { TokenGenerator(seeded: seed) }

    /// The next 64-bit value.
    public mutating func next() -> UInt64 {
        guard var state = seeded else { return RandomTokens.next() }
        state &+= 0x9E37_79B9_7F4A_7C15
        seeded = state
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The next value as lower-case hex (a tag or a branch suffix).
    public mutating func nextHex() -> String {
        String(next(), radix: 16)
    }

    /// `count` bytes (a STUN transaction id is 12, RFC 8489 §5).
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            withUnsafeBytes(of: next()) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }
}
