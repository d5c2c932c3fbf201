import Crypto
import NIOCore

/// Credentials for MESSAGE-INTEGRITY (RFC 8489 §9.1, §9.2).
public enum STUNIntegrityKey: Hashable, Sendable {
    /// Short-term credential: the key is the password (already SASLprep'd).
    case shortTerm(password: String)
    /// Long-term credential: the key is MD5(username ":" realm ":" password).
    case longTerm(username: String, realm: String, password: String)

    /// The HMAC key bytes.
    public var keyBytes: [UInt8] {
        switch self {
        case .shortTerm(let password):
            return Array(password.utf8)
        case .longTerm(let username, let realm, let password):
            return Array(Insecure.MD5.hash(data: Array("\(username):\(realm):\(password)".utf8)))
        }
    }
}

extension STUNMessage {
    /// Which integrity attribute to add when encoding.
    public enum IntegrityAlgorithm: Hashable, Sendable {
        /// MESSAGE-INTEGRITY, HMAC-SHA1 (20 bytes).
        case sha1
        /// MESSAGE-INTEGRITY-SHA256, HMAC-SHA256 (32 bytes).
        case sha256
    }

    /// Encodes the message.
    ///
    /// - Parameters:
    ///   - integrity: a key and algorithm to append MESSAGE-INTEGRITY(-SHA256), or `nil`.
    ///   - fingerprint: whether to append FINGERPRINT (RFC 8489 §14.7).
    ///   - padding: the byte used to pad attribute values to 4 bytes; receivers ignore it.
    public func encode(integrity: (key: STUNIntegrityKey, algorithm: IntegrityAlgorithm)? = nil,
                       fingerprint: Bool = true, padding: UInt8 = 0) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        Self.appendUInt16(type.rawValue, to: &bytes)
        Self.appendUInt16(0, to: &bytes)
        Self.appendUInt32(Self.magicCookie, to: &bytes)
        bytes += transactionID
        for attribute in attributes { Self.append(attribute, to: &bytes, padding: padding) }
        if let integrity {
            let size = integrity.algorithm == .sha1 ? 20 : 32
            Self.setLength(bytes.count - Self.headerSize + 4 + size, in: &bytes)
            let mac = Self.hmac(bytes, key: integrity.key.keyBytes, algorithm: integrity.algorithm)
            let type: STUNAttributeType = integrity.algorithm == .sha1 ? .messageIntegrity : .messageIntegritySHA256
            Self.append(STUNAttribute(type: type, value: mac), to: &bytes, padding: padding)
        }
        if fingerprint {
            Self.setLength(bytes.count - Self.headerSize + 8, in: &bytes)
            let crc = CRC32.checksum(bytes) ^ 0x5354_554E
            Self.append(STUNAttribute(type: .fingerprint, value: Self.bigEndian(crc)), to: &bytes, padding: padding)
        }
        Self.setLength(bytes.count - Self.headerSize, in: &bytes)
        return bytes
    }

    /// Encodes into a `ByteBuffer`.
    public func encode(into buffer: inout ByteBuffer, integrity: (key: STUNIntegrityKey, algorithm: IntegrityAlgorithm)? = nil,
                       fingerprint: Bool = true) {
        buffer.writeBytes(encode(integrity: integrity, fingerprint: fingerprint))
    }

    /// The full length of the STUN message at the start of `bytes`, if its header is there and
    /// looks like STUN (first two bits zero, magic cookie, length a multiple of 4).
    public static func frameLength(_ bytes: some Collection<UInt8>) -> Int? {
        guard bytes.count >= headerSize else { return nil }
        var iterator = bytes.makeIterator()
        var header = [UInt8](repeating: 0, count: 8)
        for index in 0..<8 { header[index] = iterator.next()! }
        guard header[0] & 0xC0 == 0, header[4] == 0x21, header[5] == 0x12, header[6] == 0xA4, header[7] == 0x42 else {
            return nil
        }
        let length = Int(header[2]) << 8 | Int(header[3])
        guard length % 4 == 0 else { return nil }
        return headerSize + length
    }

    /// Decodes one message and checks its FINGERPRINT if present (RFC 8489 §6.3).
    public static func decode(_ input: some Collection<UInt8>) throws(STUNError) -> STUNMessage {
        let bytes = Array(input)
        guard bytes.count >= headerSize else { throw STUNError(.truncated, "\(bytes.count) bytes is shorter than a STUN header") }
        guard let total = frameLength(bytes) else { throw STUNError(.notSTUN, "bad leading bits, magic cookie or length") }
        guard bytes.count == total else {
            throw STUNError(.truncated, "declared length \(total) bytes, got \(bytes.count)")
        }
        var message = STUNMessage(type: STUNMessageType(rawValue: UInt16(bytes[0]) << 8 | UInt16(bytes[1])),
                                  transactionID: Array(bytes[8..<20]))
        var offset = headerSize
        while offset < total {
            guard offset + 4 <= total else { throw STUNError(.badAttribute, "attribute header overruns the message") }
            let type = STUNAttributeType(UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]))
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let valueStart = offset + 4
            let next = valueStart + (length + 3) / 4 * 4
            guard next <= total else { throw STUNError(.badAttribute, "attribute \(type) overruns the message") }
            let value = Array(bytes[valueStart..<(valueStart + length)])
            switch type {
            case .fingerprint:
                guard next == total, length == 4 else { throw STUNError(.badAttribute, "FINGERPRINT must be last and 4 bytes") }
                let expected = CRC32.checksum(bytes[..<offset]) ^ 0x5354_554E
                guard value == bigEndian(expected) else { throw STUNError(.badFingerprint, "FINGERPRINT does not match") }
                message.hadFingerprint = true
            case .messageIntegrity, .messageIntegritySHA256:
                message.hadIntegrity = true
            default:
                // RFC 8489 §14.5: attributes after MESSAGE-INTEGRITY (other than the SHA256 one
                // and FINGERPRINT) are ignored.
                if !message.hadIntegrity { message.attributes.append(STUNAttribute(type: type, value: value)) }
            }
            offset = next
        }
        return message
    }

    /// Checks MESSAGE-INTEGRITY-SHA256, or else MESSAGE-INTEGRITY, of an encoded message.
    /// Returns `nil` when the message has neither.
    public static func verifyIntegrity(_ input: some Collection<UInt8>, key: STUNIntegrityKey) -> Bool? {
        let bytes = Array(input)
        guard let total = frameLength(bytes), bytes.count == total else { return false }
        var offset = headerSize
        var found: Bool?
        while offset + 4 <= total {
            let type = STUNAttributeType(UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]))
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let next = offset + 4 + (length + 3) / 4 * 4
            guard next <= total else { return false }
            if type == .messageIntegrity || type == .messageIntegritySHA256 {
                let algorithm: IntegrityAlgorithm = type == .messageIntegrity ? .sha1 : .sha256
                var covered = Array(bytes[..<offset])
                setLength(offset + 4 + length - headerSize, in: &covered)
                let mac = hmac(covered, key: key.keyBytes, algorithm: algorithm)
                let matches = mac == Array(bytes[(offset + 4)..<(offset + 4 + length)])
                if type == .messageIntegritySHA256 { return matches }
                found = matches
            }
            offset = next
        }
        return found
    }

    private static func hmac(_ bytes: [UInt8], key: [UInt8], algorithm: IntegrityAlgorithm) -> [UInt8] {
        let symmetricKey = SymmetricKey(data: key)
        switch algorithm {
        case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: bytes, using: symmetricKey))
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: bytes, using: symmetricKey))
        }
    }

    private static func append(_ attribute: STUNAttribute, to bytes: inout [UInt8], padding: UInt8) {
        appendUInt16(attribute.type.rawValue, to: &bytes)
        appendUInt16(UInt16(attribute.value.count), to: &bytes)
        bytes += attribute.value
        let pad = (4 - attribute.value.count % 4) % 4
        bytes += [UInt8](repeating: padding, count: pad)
    }

    private static func setLength(_ length: Int, in bytes: inout [UInt8]) {
        bytes[2] = UInt8(length >> 8)
        bytes[3] = UInt8(length & 0xFF)
    }

    private static func appendUInt16(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    private static func appendUInt32(_ value: UInt32, to bytes: inout [UInt8]) {
        bytes += bigEndian(value)
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
