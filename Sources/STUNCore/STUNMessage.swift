/// A STUN message (RFC 8489 §5): type, 96-bit transaction id and attributes in order.
///
/// MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are not kept as attributes:
/// they are computed by ``encode(integrity:fingerprint:padding:)`` and checked with
/// ``STUNMessage/verifyIntegrity(_:key:)`` and ``STUNMessage/decode(_:)``.
public struct STUNMessage: Hashable, Sendable {
    /// The magic cookie in every RFC 5389/8489 message.
    public static let magicCookie: UInt32 = 0x2112_A442
    /// The fixed header size.
    public static let headerSize = 20

    /// Method and class.
    public var type: STUNMessageType
    /// The 12-byte transaction id.
    public var transactionID: [UInt8]
    /// The attributes, excluding integrity and fingerprint.
    public var attributes: [STUNAttribute]
    /// Whether the decoded message carried a FINGERPRINT (it was checked).
    public var hadFingerprint = false
    /// Whether the decoded message carried MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256.
    public var hadIntegrity = false

    /// Creates a message.
    public init(type: STUNMessageType, transactionID: [UInt8], attributes: [STUNAttribute] = []) {
        precondition(transactionID.count == 12, "a STUN transaction id has 12 bytes")
        self.type = type
        self.transactionID = transactionID
        self.attributes = attributes
    }

    /// A Binding request with a fresh random transaction id.
    public static func bindingRequest<G: RandomNumberGenerator>(using generator: inout G) -> STUNMessage {
        STUNMessage(type: .bindingRequest, transactionID: (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// A Binding request with a fresh random transaction id from the system generator.
    public static func bindingRequest() -> STUNMessage {
        var generator = SystemRandomNumberGenerator()
        return bindingRequest(using: &generator)
    }

    /// The success response to a Binding request, carrying XOR-MAPPED-ADDRESS.
    public static func bindingSuccess(for request: STUNMessage, mappedAddress: STUNAddress) -> STUNMessage {
        var response = STUNMessage(type: .bindingSuccess, transactionID: request.transactionID)
        response.attributes.append(.xorMappedAddress(mappedAddress, transactionID: request.transactionID))
        return response
    }

    /// An error response (RFC 8489 §14.8), with UNKNOWN-ATTRIBUTES for a 420.
    public static func errorResponse(for request: STUNMessage, code: Int, reason: String,
                                     unknownAttributes: [STUNAttributeType] = []) -> STUNMessage {
        var response = STUNMessage(type: STUNMessageType(method: request.type.method, messageClass: .errorResponse),
                                   transactionID: request.transactionID)
        response.attributes.append(.errorCode(code, reason: reason))
        if !unknownAttributes.isEmpty {
            response.attributes.append(.unknownAttributes(unknownAttributes))
        }
        return response
    }

    /// The first attribute of a type.
    public func attribute(_ type: STUNAttributeType) -> STUNAttribute? {
        attributes.first { $0.type == type }
    }

    /// Comprehension-required attributes this codec does not know; a server answers 420 when
    /// this is not empty (RFC 8489 §6.3.1).
    public var unknownComprehensionRequired: [STUNAttributeType] {
        attributes.map(\.type).filter { $0.isComprehensionRequired && !STUNAttributeType.known.contains($0) }
    }

    /// The XOR-MAPPED-ADDRESS, or else the MAPPED-ADDRESS.
    public var mappedAddress: STUNAddress? {
        if let xor = attribute(.xorMappedAddress) { return xor.xorAddress(transactionID: transactionID) }
        return attribute(.mappedAddress)?.plainAddress
    }

    /// The ERROR-CODE as (code, reason).
    public var errorCode: (code: Int, reason: String)? {
        attribute(.errorCode)?.errorCodeValue
    }

    /// The SOFTWARE text.
    public var software: String? {
        attribute(.software).map { String(decoding: $0.value, as: UTF8.self) }
    }

    /// The USERNAME text.
    public var username: String? {
        attribute(.username).map { String(decoding: $0.value, as: UTF8.self) }
    }
}
