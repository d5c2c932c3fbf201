import NIOCore

/// The transport protocols a SIP flow can use.
public enum SIPTransportKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case udp
    case tcp
    case tls

    /// Whether the transport retransmits by itself (RFC 3261 §17.1.1.2).
    public var isReliable: Bool { self != .udp }

    /// The name used in a Via header (`UDP`, `TCP`, `TLS`).
    public var viaName: String { rawValue.uppercased() }

    public var description: String { rawValue }
}

/// One SIP flow (RFC 5626 §3): a transport, both addresses and, for TCP and TLS, the connection.
/// Every received message carries the flow it arrived on, and a response or a request for a
/// registered phone is sent back on that flow.
public struct Flow: Hashable, Sendable, CustomStringConvertible {
    /// The transport.
    public var transport: SIPTransportKind
    /// Our address.
    public var local: SocketAddress
    /// The peer's address.
    public var remote: SocketAddress {
        didSet { remoteHost = remote.ipAddress ?? "?" }
    }
    /// The peer's IP address as text (worked out once: every message stamps it in its Via).
    public private(set) var remoteHost: String
    /// The connection, unique within a ``SIPTransportLayer``; 0 for UDP.
    public var connectionID: UInt64

    /// Creates a flow.
    public init(transport: SIPTransportKind, local: SocketAddress, remote: SocketAddress, connectionID: UInt64) {
        self.transport = transport
        self.local = local
        self.remote = remote
        self.remoteHost = remote.ipAddress ?? "?"
        self.connectionID = connectionID
    }

    /// The peer's port.
    public var remotePort: Int { remote.port ?? 0 }

    public var description: String {
        "\(transport)/\(remoteHost):\(remotePort)#\(connectionID)"
    }
}
