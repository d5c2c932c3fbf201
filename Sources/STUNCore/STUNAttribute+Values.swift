/// Typed constructors and readers for the attribute values this codec understands.
extension STUNAttribute {
    /// SOFTWARE (RFC 8489 §14.14).
    public static func software(_ text: String) -> STUNAttribute {
        STUNAttribute(type: .software, value: Array(text.utf8))
    }

    /// USERNAME (RFC 8489 §14.3).
    public static func username(_ text: String) -> STUNAttribute {
        STUNAttribute(type: .username, value: Array(text.utf8))
    }

    /// REALM (RFC 8489 §14.9).
    public static func realm(_ text: String) -> STUNAttribute {
        STUNAttribute(type: .realm, value: Array(text.utf8))
    }

    /// NONCE (RFC 8489 §14.10).
    public static func nonce(_ text: String) -> STUNAttribute {
        STUNAttribute(type: .nonce, value: Array(text.utf8))
    }

    /// ERROR-CODE (RFC 8489 §14.8): class and number, then a UTF-8 reason.
    public static func errorCode(_ code: Int, reason: String) -> STUNAttribute {
        STUNAttribute(type: .errorCode, value: [0, 0, UInt8(code / 100), UInt8(code % 100)] + Array(reason.utf8))
    }

    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.13).
    public static func unknownAttributes(_ types: [STUNAttributeType]) -> STUNAttribute {
        STUNAttribute(type: .unknownAttributes, value: types.flatMap { [UInt8($0.rawValue >> 8), UInt8($0.rawValue & 0xFF)] })
    }

    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    public static func mappedAddress(_ address: STUNAddress) -> STUNAttribute {
        STUNAttribute(type: .mappedAddress, value: encodeAddress(address.address, port: address.port))
    }

    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2): port XOR the cookie's top half, address XOR the
    /// cookie (and for IPv6 the transaction id).
    public static func xorMappedAddress(_ address: STUNAddress, transactionID: [UInt8]) -> STUNAttribute {
        let mask = xorMask(transactionID: transactionID)
        let port = address.port ^ UInt16(STUNMessage.magicCookie >> 16)
        let bytes = address.address.enumerated().map { $0.element ^ mask[$0.offset] }
        return STUNAttribute(type: .xorMappedAddress, value: encodeAddress(bytes, port: port))
    }

    /// The address of a MAPPED-ADDRESS value.
    public var plainAddress: STUNAddress? {
        Self.decodeAddress(value).map { STUNAddress(address: $0.address, port: $0.port) }
    }

    /// The address of an XOR-MAPPED-ADDRESS value.
    public func xorAddress(transactionID: [UInt8]) -> STUNAddress? {
        guard let raw = Self.decodeAddress(value) else { return nil }
        let mask = Self.xorMask(transactionID: transactionID)
        return STUNAddress(address: raw.address.enumerated().map { $0.element ^ mask[$0.offset] },
                           port: raw.port ^ UInt16(STUNMessage.magicCookie >> 16))
    }

    /// The (code, reason) of an ERROR-CODE value.
    public var errorCodeValue: (code: Int, reason: String)? {
        guard value.count >= 4 else { return nil }
        return (Int(value[2] & 0x7) * 100 + Int(value[3]), String(decoding: value[4...], as: UTF8.self))
    }

    /// The types listed in an UNKNOWN-ATTRIBUTES value.
    public var unknownAttributeTypes: [STUNAttributeType] {
        stride(from: 0, to: value.count - 1, by: 2).map { STUNAttributeType(UInt16(value[$0]) << 8 | UInt16(value[$0 + 1])) }
    }

    private static func xorMask(transactionID: [UInt8]) -> [UInt8] {
        let cookie = STUNMessage.magicCookie
        return [UInt8(cookie >> 24), UInt8(cookie >> 16 & 0xFF), UInt8(cookie >> 8 & 0xFF), UInt8(cookie & 0xFF)] + transactionID
    }

    private static func encodeAddress(_ address: [UInt8], port: UInt16) -> [UInt8] {
        [0, address.count == 4 ? 0x01 : 0x02, UInt8(port >> 8), UInt8(port & 0xFF)] + address
    }

    private static func decodeAddress(_ value: [UInt8]) -> (address: [UInt8], port: UInt16)? {
        guard value.count >= 4 else { return nil }
        let port = UInt16(value[2]) << 8 | UInt16(value[3])
        switch value[1] {
        case 0x01 where value.count == 8: return (Array(value[4..<8]), port)
        case 0x02 where value.count == 20: return (Array(value[4..<20]), port)
        default: return nil
        }
    }
}
