/// A STUN attribute type (RFC 8489 §14, §18.3; RFC 8445 §16.1 for ICE).
public struct STUNAttributeType: Hashable, Sendable, CustomStringConvertible {
    /// The 16-bit type.
    public var rawValue: UInt16

    /// Creates a type from its number.
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let mappedAddress = STUNAttributeType(0x0001)
    public static let username = STUNAttributeType(0x0006)
    public static let messageIntegrity = STUNAttributeType(0x0008)
    public static let errorCode = STUNAttributeType(0x0009)
    public static let unknownAttributes = STUNAttributeType(0x000A)
    public static let realm = STUNAttributeType(0x0014)
    public static let nonce = STUNAttributeType(0x0015)
    public static let messageIntegritySHA256 = STUNAttributeType(0x001C)
    public static let passwordAlgorithm = STUNAttributeType(0x001D)
    public static let userhash = STUNAttributeType(0x001E)
    public static let xorMappedAddress = STUNAttributeType(0x0020)
    public static let priority = STUNAttributeType(0x0024)
    public static let useCandidate = STUNAttributeType(0x0025)
    public static let passwordAlgorithms = STUNAttributeType(0x8002)
    public static let alternateDomain = STUNAttributeType(0x8003)
    public static let software = STUNAttributeType(0x8022)
    public static let alternateServer = STUNAttributeType(0x8023)
    public static let fingerprint = STUNAttributeType(0x8028)
    public static let iceControlled = STUNAttributeType(0x8029)
    public static let iceControlling = STUNAttributeType(0x802A)

    /// Comprehension-required attributes are 0x0000–0x7FFF: a receiver that does not know one
    /// must reject the request with 420 (RFC 8489 §14).
    public var isComprehensionRequired: Bool { rawValue < 0x8000 }

    /// Types this codec understands.
    public static let known: Set<STUNAttributeType> = [
        .mappedAddress, .username, .messageIntegrity, .errorCode, .unknownAttributes, .realm, .nonce,
        .messageIntegritySHA256, .passwordAlgorithm, .userhash, .xorMappedAddress, .priority, .useCandidate,
        .passwordAlgorithms, .alternateDomain, .software, .alternateServer, .fingerprint, .iceControlled,
        .iceControlling,
    ]

    public var description: String {
        let hex = String(rawValue, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

/// One attribute: its type and its value bytes (without padding).
public struct STUNAttribute: Hashable, Sendable {
    /// The type.
    public var type: STUNAttributeType
    /// The value, without the padding to a 4-byte boundary.
    public var value: [UInt8]

    /// Creates an attribute.
    public init(type: STUNAttributeType, value: [UInt8]) {
        self.type = type
        self.value = value
    }
}
