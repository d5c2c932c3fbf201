/// The registrar's expiry rules (SPEC B7, RFC 3261 §10.3 step 7).
public struct RegistrationPolicy: Hashable, Sendable {
    /// Expiry when the REGISTER gives none. Default 120 s.
    public var defaultExpires: Int64
    /// Shortest expiry accepted; shorter (but non-zero) gets 423 with Min-Expires. Default 60 s.
    public var minExpires: Int64
    /// Longest expiry granted; longer requests are shortened. Default 3,600 s.
    public var maxExpires: Int64

    /// Creates a policy; every parameter has the documented default.
    public init(defaultExpires: Int64 = 120, minExpires: Int64 = 60, maxExpires: Int64 = 3_600) {
        self.defaultExpires = defaultExpires
        self.minExpires = minExpires
        self.maxExpires = maxExpires
    }
}
