/// Why the stack could not complete a client transaction or forward a request (RFC 3261 §8.1.3.1,
/// §16.7 step 6). One error for the module, with an extensible ``Code``; the status it implies is
/// what a proxy answers upstream in its place.
public struct SIPStackError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String

        private init(_ name: String) { self.name = name }

        /// No final response before Timer B or F fired (RFC 3261 §17.1.1.2, §17.1.2.2).
        public static let timeout = Code("timeout")
        /// The transport could not send the request (RFC 3261 §17.1.4).
        public static let transportFailed = Code("transportFailed")
        /// The connection the transaction ran on closed before its final response.
        public static let connectionClosed = Code("connectionClosed")
        /// The request cannot start a client transaction (no Via branch or no method).
        public static let invalidRequest = Code("invalidRequest")
        /// Max-Forwards reached zero at this hop (RFC 3261 §16.3 step 3).
        public static let tooManyHops = Code("tooManyHops")
        /// No connection to the next hop could be opened.
        public static let unreachable = Code("unreachable")

        public var description: String { name }
    }

    /// What failed.
    public var code: Code
    /// The cause in words, for logs and reason phrases (`the connection to 127.0.0.1:5060 closed`).
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// The status a proxy answers in place of a final response that never came: 408 for a
    /// timeout, 483 for an exhausted Max-Forwards, 500 for a request that could not be sent as
    /// given, else 503 (RFC 3261 §16.7 step 6, §16.3, §21.5.4).
    public var impliedStatus: (code: Int, reason: String) {
        switch code {
        case .timeout: (408, "Request Timeout")
        case .tooManyHops: (483, "Too Many Hops")
        case .invalidRequest: (500, "Server Internal Error")
        default: (503, "Service Unavailable")
        }
    }

    public var description: String { "\(impliedStatus.code) \(impliedStatus.reason): \(detail)" }
}
