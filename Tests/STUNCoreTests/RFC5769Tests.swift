import Testing
@testable import STUNCore

/// RFC 5769 test vectors: decode and re-encode bit-exact, FINGERPRINT and MESSAGE-INTEGRITY checked.
@Suite("RFC 5769 STUN test vectors")
struct RFC5769Tests {
    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16)! }
    }

    static let transactionID = bytes("b7e7a701bc34d686fa87dfae")

    /// §2.1 Sample Request.
    static let request = bytes("""
        000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74
        002400046e0001ff80290008932ff9b151263b36000600096576746a3a6836765920202000080014
        9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf
        """)
    /// §2.2 Sample IPv4 Response.
    static let ipv4Response = bytes("""
        0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f722000200008
        0001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96
        """)
    /// §2.3 Sample IPv6 Response.
    static let ipv6Response = bytes("""
        010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f722000200014
        0002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275
        bfe3ed4180280004c8fb0b4c
        """)
    /// §2.4 Sample Request with Long-Term Authentication.
    static let longTermRequest = bytes("""
        000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b9
        00000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014000b6578
        616d706c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666
        """)

    static let shortTermKey = STUNIntegrityKey.shortTerm(password: "VOkJxbRl1RmTxUk/WvJxBt")

    @Test func sampleRequest() throws {
        let message = try STUNMessage.decode(Self.request)
        #expect(message.type == .bindingRequest)
        #expect(message.transactionID == Self.transactionID)
        #expect(message.hadFingerprint && message.hadIntegrity)
        #expect(message.software == "STUN test client")
        #expect(message.username == "evtj:h6vY")
        #expect(message.attribute(.priority)?.value == [0x6E, 0x00, 0x01, 0xFF])
        #expect(message.attribute(.iceControlled)?.value == Self.bytes("932ff9b151263b36"))
        #expect(message.unknownComprehensionRequired.isEmpty)
        #expect(STUNMessage.verifyIntegrity(Self.request, key: Self.shortTermKey) == true)
        #expect(STUNMessage.verifyIntegrity(Self.request, key: .shortTerm(password: "wrong")) == false)
        let encoded = message.encode(integrity: (Self.shortTermKey, .sha1), fingerprint: true, padding: 0x20)
        #expect(encoded == Self.request)
    }

    @Test func sampleIPv4Response() throws {
        let message = try STUNMessage.decode(Self.ipv4Response)
        #expect(message.type == .bindingSuccess)
        #expect(message.software == "test vector")
        #expect(message.mappedAddress == STUNAddress(address: [192, 0, 2, 1], port: 32853))
        #expect(message.mappedAddress?.description == "192.0.2.1:32853")
        #expect(STUNMessage.verifyIntegrity(Self.ipv4Response, key: Self.shortTermKey) == true)
        #expect(message.encode(integrity: (Self.shortTermKey, .sha1), padding: 0x20) == Self.ipv4Response)
        let rebuilt = STUNMessage(type: .bindingSuccess, transactionID: Self.transactionID, attributes: [
            .software("test vector"),
            .xorMappedAddress(STUNAddress(address: [192, 0, 2, 1], port: 32853), transactionID: Self.transactionID),
        ])
        #expect(rebuilt.encode(integrity: (Self.shortTermKey, .sha1), padding: 0x20) == Self.ipv4Response)
    }

    @Test func sampleIPv6Response() throws {
        let message = try STUNMessage.decode(Self.ipv6Response)
        let address = try #require(message.mappedAddress)
        #expect(address.description == "[2001:db8:1234:5678:11:2233:4455:6677]:32853")
        #expect(STUNMessage.verifyIntegrity(Self.ipv6Response, key: Self.shortTermKey) == true)
        #expect(message.encode(integrity: (Self.shortTermKey, .sha1), padding: 0x20) == Self.ipv6Response)
    }

    @Test func longTermAuthentication() throws {
        let message = try STUNMessage.decode(Self.longTermRequest)
        #expect(!message.hadFingerprint && message.hadIntegrity)
        #expect(message.username == "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}")
        #expect(message.attribute(.nonce)?.value == Array("f//499k954d6OL34oL9FSTvy64sA".utf8))
        #expect(message.attribute(.realm)?.value == Array("example.org".utf8))
        // The password after SASLprep is "TheMatrIX" (RFC 5769 §2.4).
        let key = STUNIntegrityKey.longTerm(username: message.username!, realm: "example.org", password: "TheMatrIX")
        #expect(STUNMessage.verifyIntegrity(Self.longTermRequest, key: key) == true)
        #expect(message.encode(integrity: (key, .sha1), fingerprint: false) == Self.longTermRequest)
    }

    @Test func corruptedFingerprintIsRejected() {
        var bytes = Self.ipv4Response
        bytes[bytes.count - 1] ^= 0x01
        #expect(throws: STUNError.self) { try STUNMessage.decode(bytes) }
    }
}
