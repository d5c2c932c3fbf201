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
        let text = SIPText.trim(Substring(value))
        guard let space = text.utf8.firstIndex(where: SIPText.isWhitespace) else {
            throw .badRequest(.badHeaderValue, "CSeq \"\(text)\" is not \"number method\"")
        }
        guard let number = SIPText.parseNumber(text[..<space], maximum: UInt64(UInt32.max)) else {
            throw .badRequest(.badHeaderValue, "CSeq number \"\(text[..<space])\" is not a 32-bit number")
        }
        let method = SIPText.trim(text[space...])
        guard SIPText.isToken(method) else {
            throw .badRequest(.badHeaderValue, "CSeq method \"\(method)\" is not a token")
        }
        self.sequence = UInt32(number)
        self.method = String(method)
    }

    public var description: String { "\(sequence) \(method)" }
}
