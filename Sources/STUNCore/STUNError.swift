/// An error decoding or checking a STUN message (RFC 8489).
public struct STUNError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// Fewer bytes than the header or the declared length.
        public static let truncated = Code(name: "truncated")
        /// Not a STUN message: top bits set, wrong magic cookie or a length that is not a multiple of 4.
        public static let notSTUN = Code(name: "notSTUN")
        /// An attribute overruns the message or has a malformed value.
        public static let badAttribute = Code(name: "badAttribute")
        /// FINGERPRINT is present but wrong.
        public static let badFingerprint = Code(name: "badFingerprint")
        /// The message is larger than allowed.
        public static let tooLarge = Code(name: "tooLarge")
        public var description: String { name }
    }

    /// The kind of error.
    public var code: Code
    /// A human-readable explanation.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}
