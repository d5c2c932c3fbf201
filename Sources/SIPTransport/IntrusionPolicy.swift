import NIOCore

/// What intrusion protection counts per source address (SPEC B28), named as operators of this
/// kind of edge know the categories of automated protection.
public enum IntrusionCategory: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A request with credentials answered 401 or 407 (not `stale=true`), or any request answered 403.
    case sipAuthentication = "SIPAuthentication"
    /// A message that cannot be parsed or framed: answered 400 (or dropped on UDP).
    case sipMalformed = "SIPMalformed"
    /// SIP requests of any kind: a flood, as Kamailio's pike module counts them.
    case sipRequestRate = "SIPRequestRate"
    /// A wrong admin API token.
    case adminLogin = "AdminLogin"

    public var description: String { rawValue }
}

/// When one category blocks a source: `triggerLevel` events within one `detectionWindow` block it
/// for `blockDuration`. The window is fixed: it starts at the first event and counting restarts
/// when it has passed.
public struct IntrusionRule: Sendable, Hashable {
    /// Events within one window that block the source (at least 1).
    public var triggerLevel: Int
    /// The window the events are counted in.
    public var detectionWindow: Duration
    /// How long the source stays blocked.
    public var blockDuration: Duration

    /// Creates a rule.
    public init(triggerLevel: Int, detectionWindow: Duration, blockDuration: Duration) {
        self.triggerLevel = max(triggerLevel, 1)
        self.detectionWindow = detectionWindow
        self.blockDuration = blockDuration
    }
}

/// The categories counted, their rules and the addresses never blocked.
///
/// Defaults, next to Kamailio's pike (30 requests per 2 s sampling unit from one address; pike
/// only flags, the script decides) and the original's automated protection (per category a
/// trigger level, detection window and block duration, with exemptions by address and prefix;
/// every category off until the operator turns it on):
///
/// | category | trigger level | window | block |
/// |---|---|---|---|
/// | SIPAuthentication | 10 | 60 s | 10 min |
/// | SIPMalformed | 10 | 30 s | 10 min |
/// | SIPRequestRate | 300 | 10 s | 2 min |
/// | AdminLogin | 5 | 60 s | 10 min |
///
/// The request rate allows 30 requests a second from one address, twice pike's density, so an
/// office of phones behind one NAT address re-registering at once is not blocked.
public struct IntrusionPolicy: Sendable, Hashable {
    /// Whether anything is counted or blocked.
    public var enabled: Bool
    /// The counted categories; a category without a rule is not counted.
    public var rules: [IntrusionCategory: IntrusionRule]
    /// Sources never counted nor blocked.
    public var exemptions: [AddressPrefix]

    /// Creates a policy.
    public init(enabled: Bool = true, rules: [IntrusionCategory: IntrusionRule] = IntrusionPolicy.defaultRules,
                exemptions: [AddressPrefix] = []) {
        self.enabled = enabled
        self.rules = rules
        self.exemptions = exemptions
    }

    /// The default rules of the table above.
    public static let defaultRules: [IntrusionCategory: IntrusionRule] = [
        .sipAuthentication: IntrusionRule(triggerLevel: 10, detectionWindow: .seconds(60), blockDuration: .seconds(600)),
        .sipMalformed: IntrusionRule(triggerLevel: 10, detectionWindow: .seconds(30), blockDuration: .seconds(600)),
        .sipRequestRate: IntrusionRule(triggerLevel: 300, detectionWindow: .seconds(10), blockDuration: .seconds(120)),
        .adminLogin: IntrusionRule(triggerLevel: 5, detectionWindow: .seconds(60), blockDuration: .seconds(600)),
    ]

    /// Nothing counted.
    public static let off = IntrusionPolicy(enabled: false, rules: [:])

    /// Whether `address` (an IP address as text) is exempt.
    public func exempts(_ address: String) -> Bool {
        guard !exemptions.isEmpty, let bytes = AddressPrefix.bytes(of: address) else { return false }
        return exemptions.contains { $0.contains(bytes) }
    }
}

/// An IPv4 or IPv6 address range, `ADDRESS/LENGTH` (`10.0.0.0/8`, `2001:db8::/32`); a bare
/// address is a range of one.
public struct AddressPrefix: Sendable, Hashable, CustomStringConvertible {
    private let network: [UInt8]
    /// The prefix length in bits.
    public let length: Int

    /// Parses `ADDRESS[/LENGTH]`; `nil` when the address is not an IP literal or the length is
    /// outside 0…32 (IPv4) or 0…128 (IPv6).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let bytes = Self.bytes(of: String(first)) else { return nil }
        let bits = bytes.count * 8
        let length = parts.count == 2 ? Int(parts[1]) : bits
        guard let length, (0...bits).contains(length) else { return nil }
        self.length = length
        self.network = Self.masked(bytes, length)
    }

    /// Whether the address bytes fall in this range.
    func contains(_ bytes: [UInt8]) -> Bool {
        bytes.count == network.count && Self.masked(bytes, length) == network
    }

    public var description: String {
        let address = (try? SocketAddress(packedIPAddress: ByteBuffer(bytes: network), port: 0))?.ipAddress ?? "?"
        return "\(address)/\(length)"
    }

    /// The 4 or 16 bytes of an IP literal, or `nil`.
    static func bytes(of address: String) -> [UInt8]? {
        guard let socket = try? SocketAddress(ipAddress: address, port: 0) else { return nil }
        switch socket {
        case .v4(let v4): return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            // ::ffff:a.b.c.d, as a dual-stack listener sees an IPv4 peer, is that IPv4 address.
            return bytes.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] ? Array(bytes.suffix(4)) : bytes
        case .unixDomainSocket: return nil
        }
    }

    private static func masked(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let kept = min(max(length - index * 8, 0), 8)
            return kept == 8 ? byte : byte & ~(UInt8(0xFF) >> kept)
        }
    }
}
