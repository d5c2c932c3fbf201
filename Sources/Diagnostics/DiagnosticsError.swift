/// An error of the diagnostics module: a file that cannot be written or read, input that is not
/// what it claims to be, a command refused. The description names the cause.
public struct DiagnosticsError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// A file could not be written or read.
        public static let io = Code(name: "io")
        /// The input is not a capture, a log or a bundle, or is cut short (`edgeway diagnose` exits 2).
        public static let badInput = Code(name: "bad input")
        /// A diagnostic-log command cannot be done now (one runs already, none runs, …).
        public static let refused = Code(name: "refused")
        /// A peer could not be reached or answered with an error.
        public static let peer = Code(name: "peer")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// What happened, for an operator.
    public var detail: String

    /// Creates an error.
    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { detail }
}
