/// An error found while framing, parsing or validating a SIP message.
///
/// It carries the answer a server would send (`status` and `reasonPhrase`), or `nil` when the
/// offending message is a response, which is dropped instead of answered (RFC 3261 §18.1.2).
public struct SIPParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// The start line is not `Method SP Request-URI SP SIP-Version` or `SIP-Version SP Status-Code SP Reason`.
        public static let badStartLine = Code(name: "badStartLine")
        /// A header line has no colon or an invalid name.
        public static let badHeaderLine = Code(name: "badHeaderLine")
        /// A header's value does not match its grammar.
        public static let badHeaderValue = Code(name: "badHeaderValue")
        /// A mandatory header is absent.
        public static let missingHeader = Code(name: "missingHeader")
        /// Content-Length is not a non-negative number or disagrees with the bytes received.
        public static let badContentLength = Code(name: "badContentLength")
        /// The SIP version is not SIP/2.0.
        public static let unsupportedVersion = Code(name: "unsupportedVersion")
        /// The message is larger than a configured limit.
        public static let tooLarge = Code(name: "tooLarge")
        /// The CSeq method differs from the request method.
        public static let methodMismatch = Code(name: "methodMismatch")
        /// The bytes are not UTF-8 where RFC 3261 requires it.
        public static let invalidEncoding = Code(name: "invalidEncoding")
        /// The Request-URI is malformed.
        public static let badRequestURI = Code(name: "badRequestURI")
        public var description: String { name }
    }

    /// The kind of error.
    public var code: Code
    /// The status code a server answers with, or `nil` when the message must be dropped.
    public var status: Int?
    /// The reason phrase of that answer.
    public var reasonPhrase: String
    /// A human-readable explanation naming the offending element.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, status: Int? = 400, reasonPhrase: String = "Bad Request", detail: String) {
        self.code = code
        self.status = status
        self.reasonPhrase = reasonPhrase
        self.detail = detail
    }

    /// A 400 error with the given detail.
    static func badRequest(_ code: Code, _ detail: String) -> SIPParseError {
        SIPParseError(code, detail: detail)
    }

    /// The same error, but to be dropped because the message is a response.
    var dropped: SIPParseError {
        var copy = self
        copy.status = nil
        return copy
    }

    public var description: String {
        if let status {
            return "\(status) \(reasonPhrase) – \(detail)"
        }
        return "dropped – \(detail)"
    }
}
