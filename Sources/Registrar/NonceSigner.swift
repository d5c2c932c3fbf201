import Crypto

/// Signs nonce time stamps with SipHash-2-4, a keyed pseudo-random function designed to
/// authenticate short inputs: a 64-bit tag for a 128-bit key taken from SHA-256 of the secret and
/// the realm. A nonce's tag costs a few hundred instructions, where HMAC-SHA256 costs thousands
/// (two per registration: one to challenge, one to check the answer).
struct NonceSigner: Sendable {
    private let key0: UInt64
    private let key1: UInt64

    init(secret: [UInt8], realm: String) {
        let key = Array(SHA256.hash(data: secret + Array(":\(realm)".utf8)))
        self.init(key: Array(key[0..<16]))
    }

    /// A signer with these 16 key bytes (for the reference test vectors).
    init(key: [UInt8]) {
        precondition(key.count == 16, "SipHash takes a 128-bit key")
        key0 = Self.littleEndianWord(key[0..<8])
        key1 = Self.littleEndianWord(key[8..<16])
    }

    /// SipHash-2-4 of `bytes`.
    func code(for bytes: UnsafeRawBufferPointer) -> UInt64 {
        var state = (key0 ^ 0x736F_6D65_7073_6575, key1 ^ 0x646F_7261_6E64_6F6D,
                     key0 ^ 0x6C79_6765_6E65_7261, key1 ^ 0x7465_6462_7974_6573)
        func rounds(_ count: Int) {
            for _ in 0..<count {
                state.0 &+= state.1; state.1 = state.1.rotatedLeft(13); state.1 ^= state.0; state.0 = state.0.rotatedLeft(32)
                state.2 &+= state.3; state.3 = state.3.rotatedLeft(16); state.3 ^= state.2
                state.0 &+= state.3; state.3 = state.3.rotatedLeft(21); state.3 ^= state.0
                state.2 &+= state.1; state.1 = state.1.rotatedLeft(17); state.1 ^= state.2; state.2 = state.2.rotatedLeft(32)
            }
        }
        func absorb(_ word: UInt64) {
            state.3 ^= word
            rounds(2)
            state.0 ^= word
        }
        let whole = bytes.count / 8 * 8
        for offset in stride(from: 0, to: whole, by: 8) {
            absorb(Self.littleEndianWord(bytes[offset..<(offset + 8)]))
        }
        absorb(UInt64(truncatingIfNeeded: bytes.count) << 56 | Self.littleEndianWord(bytes[whole...]))
        state.2 ^= 0xFF
        rounds(4)
        return state.0 ^ state.1 ^ state.2 ^ state.3
    }

    /// Up to eight bytes read as a little-endian number.
    private static func littleEndianWord(_ bytes: some Collection<UInt8>) -> UInt64 {
        var word: UInt64 = 0
        for (index, byte) in bytes.enumerated() { word |= UInt64(byte) << (8 * UInt64(index)) }
        return word
    }
}

private extension UInt64 {
    func rotatedLeft(_ count: UInt64) -> UInt64 {
        self << count | self >> (64 - count)
    }
}
