import Testing
@testable import STUNCore

@Suite("STUN messages")
struct STUNMessageTests {
    let transactionID: [UInt8] = Array(1...12)

    @Test func bindingRoundTripWithSHA256AndFingerprint() throws {
        var request = STUNMessage(type: .bindingRequest, transactionID: transactionID)
        request.attributes.append(.username("alice"))
        let key = STUNIntegrityKey.shortTerm(password: "secret")
        let bytes = request.encode(integrity: (key, .sha256), fingerprint: true)
        let decoded = try STUNMessage.decode(bytes)
        #expect(decoded.username == "alice" && decoded.hadFingerprint && decoded.hadIntegrity)
        #expect(STUNMessage.verifyIntegrity(bytes, key: key) == true)
        #expect(STUNMessage.verifyIntegrity(bytes, key: .shortTerm(password: "other")) == false)
    }

    @Test func unknownComprehensionRequiredGets420() throws {
        var request = STUNMessage(type: .bindingRequest, transactionID: transactionID)
        request.attributes.append(STUNAttribute(type: STUNAttributeType(0x7F01), value: [1, 2, 3]))
        request.attributes.append(STUNAttribute(type: STUNAttributeType(0xC001), value: []))
        let decoded = try STUNMessage.decode(request.encode())
        #expect(decoded.unknownComprehensionRequired == [STUNAttributeType(0x7F01)])
        let answer = STUNMessage.errorResponse(for: decoded, code: 420, reason: "Unknown Attribute",
                                               unknownAttributes: decoded.unknownComprehensionRequired)
        let wire = try STUNMessage.decode(answer.encode())
        #expect(wire.type == .bindingError && wire.transactionID == transactionID)
        #expect(wire.errorCode?.code == 420 && wire.errorCode?.reason == "Unknown Attribute")
        #expect(wire.attribute(.unknownAttributes)?.unknownAttributeTypes == [STUNAttributeType(0x7F01)])
    }

    @Test func messageTypePacking() {
        #expect(STUNMessageType.bindingRequest.rawValue == 0x0001)
        #expect(STUNMessageType.bindingSuccess.rawValue == 0x0101)
        #expect(STUNMessageType.bindingError.rawValue == 0x0111)
        for raw: UInt16 in [0x0001, 0x0011, 0x0101, 0x0111, 0x3EEF] {
            #expect(STUNMessageType(rawValue: raw).rawValue == raw)
        }
    }

    @Test(arguments: [
        [UInt8](repeating: 0, count: 19),
        [0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x43] + [UInt8](repeating: 0, count: 12),
        [0x00, 0x01, 0x00, 0x02, 0x21, 0x12, 0xA4, 0x42] + [UInt8](repeating: 0, count: 12),
        [0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xA4, 0x42] + [UInt8](repeating: 0, count: 12) + [0x00, 0x06, 0x00, 0x09],
    ])
    func malformedInputIsAnError(bytes: [UInt8]) {
        #expect(throws: STUNError.self) { try STUNMessage.decode(bytes) }
    }
}
