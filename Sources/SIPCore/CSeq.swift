/// The CSeq header: a sequence number and a method (RFC 3261 §20.16).
public struct CSeq: Hashable, Sendable, CustomStringConvertible {
    /// The sequence number; RFC 3261 §8.1.1.5 limits it to 32 bits.
    public var sequence: UInt32
    /// The method, compared case-sensitively.
    public var method: String

    /// Creates a CSeq.
    public init(sequence: UInt32, method: String) {
        self.sequence = sequence
        self.method = method
    }

    /// Parses `1234 REGISTER`; leading zeros and whitespace around the parts are allowed.
    public init(parsing value: some StringProtocol) throws(SIPParseError) {
        let text = value.substring
        let (number, method) = try SIPText.withBytes(text) { bytes throws(SIPParseError) -> (UInt64, String) in
            var index = 0
            func skipWhitespace() {
                while index < bytes.count, SIPText.isWhitespace(bytes[index]) { index &+= 1 }
            }
            skipWhitespace()
            let numberStart = index
            while index < bytes.count, !SIPText.isWhitespace(bytes[index]) { index &+= 1 }
            let numberEnd = index
            guard numberEnd < bytes.count else {
                throw .badRequest(.badHeaderValue, "CSeq \"\(SIPText.trim(text))\" is not \"number method\"")
            }
            var number: UInt64 = 0
            for byte in bytes[numberStart..<numberEnd] {
                guard SIPText.isDigit(byte), number <= UInt64(UInt32.max) else {
                    number = .max
                    break
                }
                number = number &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
            }
            guard numberEnd > numberStart, numberEnd - numberStart <= 20, number <= UInt64(UInt32.max) else {
                let digits = String(decoding: bytes[numberStart..<numberEnd], as: UTF8.self)
                throw .badRequest(.badHeaderValue, "CSeq number \"\(digits)\" is not a 32-bit number")
            }
            skipWhitespace()
            let methodStart = index
            var methodEnd = bytes.count
            while methodEnd > methodStart, SIPText.isWhitespace(bytes[methodEnd &- 1]) { methodEnd &-= 1 }
            let method = String(decoding: bytes[methodStart..<methodEnd], as: UTF8.self)
            guard methodEnd > methodStart, bytes[methodStart..<methodEnd].allSatisfy(SIPText.isToken) else {
                throw .badRequest(.badHeaderValue, "CSeq method \"\(method)\" is not a token")
            }
            return (number, method)
        }
        self.sequence = UInt32(number)
        self.method = method
    }

    public var description: String { "\(sequence) \(method)" }
}
