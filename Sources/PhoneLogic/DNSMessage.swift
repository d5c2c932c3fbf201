/// The few DNS messages a phone needs (RFC 1035): a query for SRV or A records, and the answers
/// read from a response, compression pointers included. Pure bytes in, values out.
public enum DNSMessage {
    /// Record types asked for.
    public enum RecordType: UInt16, Sendable {
        case a = 1
        case srv = 33
    }

    /// An answer record this reader understands.
    public enum Answer: Equatable, Sendable {
        case srv(SRVRecord)
        case a(String)
    }

    /// Why a response could not be read.
    public struct FormatError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// A recursive query for `name` with this id.
    public static func query(id: UInt16, name: String, type: RecordType) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            let utf8 = Array(label.utf8.prefix(63))
            bytes.append(UInt8(utf8.count))
            bytes += utf8
        }
        bytes += [0, UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1]
        return bytes
    }

    /// The answers of a response to the query with `id` (records of other types are skipped).
    public static func answers(_ bytes: [UInt8], id: UInt16) throws(FormatError) -> [Answer] {
        guard bytes.count >= 12 else { throw FormatError(description: "a DNS response is at least 12 bytes") }
        guard UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id else { throw FormatError(description: "the response is for another query") }
        guard bytes[3] & 0x0F == 0 else { throw FormatError(description: "the server answered with error code \(bytes[3] & 0x0F)") }
        let questions = Int(bytes[4]) << 8 | Int(bytes[5])
        let answerCount = Int(bytes[6]) << 8 | Int(bytes[7])
        var offset = 12
        for _ in 0..<questions {
            _ = try name(bytes, at: &offset)
            offset += 4
        }
        var answers: [Answer] = []
        for _ in 0..<answerCount {
            _ = try name(bytes, at: &offset)
            guard offset + 10 <= bytes.count else { throw FormatError(description: "an answer is cut short") }
            let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let length = Int(bytes[offset + 8]) << 8 | Int(bytes[offset + 9])
            offset += 10
            guard offset + length <= bytes.count else { throw FormatError(description: "an answer's data is cut short") }
            switch RecordType(rawValue: type) {
            case .srv where length >= 7:
                var target = offset + 6
                let field = { (at: Int) in UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }
                answers.append(.srv(SRVRecord(priority: field(offset), weight: field(offset + 2), port: field(offset + 4),
                                              target: try name(bytes, at: &target))))
            case .a where length == 4:
                answers.append(.a(bytes[offset..<offset + 4].map(String.init).joined(separator: ".")))
            default:
                break
            }
            offset += length
        }
        return answers
    }

    /// Reads a possibly compressed name at `offset` and moves past it.
    static func name(_ bytes: [UInt8], at offset: inout Int) throws(FormatError) -> String {
        var labels: [String] = []
        var position = offset
        var jumped = false
        for _ in 0..<128 {
            guard position < bytes.count else { throw FormatError(description: "a name runs past the end") }
            let length = Int(bytes[position])
            if length == 0 {
                if !jumped { offset = position + 1 }
                return labels.joined(separator: ".")
            }
            if length & 0xC0 == 0xC0 {
                guard position + 1 < bytes.count else { throw FormatError(description: "a name pointer is cut short") }
                if !jumped { offset = position + 2 }
                position = (length & 0x3F) << 8 | Int(bytes[position + 1])
                jumped = true
                continue
            }
            guard position + 1 + length <= bytes.count else { throw FormatError(description: "a label runs past the end") }
            labels.append(String(decoding: bytes[position + 1..<position + 1 + length], as: UTF8.self))
            position += 1 + length
        }
        throw FormatError(description: "a name has too many labels or a pointer loop")
    }
}
