/// A small deterministic random number generator (SplitMix64) so that randomized tests repeat
/// exactly from their seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator from a seed.
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random edits of a byte string, the kind a bit-flipping fuzzer makes.
public enum ByteMutator {
    /// Applies 1–4 random edits: flip, replace with an interesting byte, insert, delete, duplicate
    /// a span, or truncate.
    public static func mutate(_ input: [UInt8], using generator: inout some RandomNumberGenerator) -> [UInt8] {
        var bytes = input
        let interesting: [UInt8] = [0x00, 0x0D, 0x0A, 0x20, 0x3A, 0x3B, 0x2C, 0x22, 0x3C, 0x3E, 0x5C, 0x25, 0xFF, 0x80, 0x39]
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            guard !bytes.isEmpty else {
                bytes.append(interesting.randomElement(using: &generator)!)
                continue
            }
            let position = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<6, using: &generator) {
            case 0: bytes[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
            case 1: bytes[position] = interesting.randomElement(using: &generator)!
            case 2: bytes.insert(interesting.randomElement(using: &generator)!, at: position)
            case 3: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...16, using: &generator)))
            case 4:
                let span = bytes[position..<min(bytes.count, position + Int.random(in: 1...32, using: &generator))]
                bytes.insert(contentsOf: span, at: Int.random(in: 0...bytes.count, using: &generator))
            default: bytes.removeLast(Int.random(in: 0...(bytes.count - position), using: &generator))
            }
        }
        return bytes
    }
}
