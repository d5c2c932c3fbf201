import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import SIPCore

/// UDP, TCP and TLS listeners and connections for SIP (RFC 3261 §18) on SwiftNIO.
///
/// Every message is reported with its ``Flow``; replies and requests for a flow go back on the
/// same connection (or, for UDP, from the same socket). Outgoing connections are reused per peer
/// and transport.
///
/// Limits (SPEC B28): connections in all and from one source address; time to finish a TLS
/// handshake, to send a first message and to complete a message; idle connections are closed.
/// Listeners for user agents (``ListenerAudience/userAgents``) are guarded by ``intrusion``: blocked
/// sources are refused at accept and their datagrams dropped, and their requests and malformed
/// messages are counted. Every refusal and cut-off is a log line naming the source and the limit.
public final class SIPTransportLayer: Sendable {
    /// How the layer behaves; every property has a documented default.
    public struct Configuration: Sendable {
        /// SIP parser limits (64 KiB messages by default).
        public var limits: SIPParser.Limits
        /// A TCP/TLS connection with no traffic either way for this long (up to a quarter more) is
        /// closed. Default 15 minutes.
        public var idleTimeout: TimeAmount
        /// Most simultaneous connections accepted from one IP address. Default 200.
        public var maxConnectionsPerSource: Int
        /// Most simultaneous connections from one IP address on a ``ListenerAudience/peers``
        /// listener (cores linking to an edge). Default 16.
        public var maxPeerConnectionsPerSource = 16
        /// Most TCP and TLS connections open at once, accepted and opened (default 16,000; a
        /// process may hold 20,000 files here).
        public var maxConnections: Int
        /// Of ``maxConnections``, how many only ``ListenerAudience/peers`` listeners may take, so
        /// traversal links still connect when phones fill the rest (default 64).
        public var reservedConnections: Int
        /// Time for a TLS peer to finish its handshake. Default 10 s.
        public var tlsHandshakeTimeout: TimeAmount
        /// Time for an accepted peer to send its first SIP or STUN message (after the TLS
        /// handshake; a CRLF keepalive does not count). Default 30 s.
        public var firstMessageTimeout: TimeAmount
        /// Time for a peer to complete a SIP or STUN message it has begun. Default 15 s.
        public var messageTimeout: TimeAmount
        /// Intrusion protection for ``ListenerAudience/userAgents`` listeners (default off: a client
        /// stack has nothing to guard; nodes turn it on).
        public var intrusionPolicy: IntrusionPolicy
        /// The TLS server context for TLS listeners (TLS 1.2 or later).
        public var tlsServer: NIOSSLContext?
        /// The TLS client context for outgoing TLS connections.
        public var tlsClient: NIOSSLContext?
        /// What the layer counts for Prometheus (`nil`: nothing is counted).
        public var metrics: TransportMetrics?

        /// Creates a configuration.
        public init(limits: SIPParser.Limits = .init(), idleTimeout: TimeAmount = .minutes(15), maxConnectionsPerSource: Int = 200,
                    maxConnections: Int = 16_000, reservedConnections: Int = 64, tlsHandshakeTimeout: TimeAmount = .seconds(10),
                    firstMessageTimeout: TimeAmount = .seconds(30), messageTimeout: TimeAmount = .seconds(15),
                    intrusionPolicy: IntrusionPolicy = .off, tlsServer: NIOSSLContext? = nil, tlsClient: NIOSSLContext? = nil) {
            self.limits = limits
            self.idleTimeout = idleTimeout
            self.maxConnectionsPerSource = maxConnectionsPerSource
            self.maxConnections = maxConnections
            self.reservedConnections = reservedConnections
            self.tlsHandshakeTimeout = tlsHandshakeTimeout
            self.firstMessageTimeout = firstMessageTimeout
            self.messageTimeout = messageTimeout
            self.intrusionPolicy = intrusionPolicy
            self.tlsServer = tlsServer
            self.tlsClient = tlsClient
        }
    }

    /// Who connects to a listener.
    public enum ListenerAudience: Sendable {
        /// User agents — phones, trunks, anyone (RFC 3261 §6): guarded by intrusion protection,
        /// limited to the connections outside the reserve.
        case userAgents
        /// Known peers that authenticate by certificate (the traversal port): not counted by
        /// intrusion protection; may use the reserve, at most ``Configuration/maxPeerConnectionsPerSource``
        /// from one address, so strangers stalling handshakes cannot hold it.
        case peers
    }

    struct State {
        var nextConnectionID: UInt64 = 1
        var connections: [UInt64: Channel] = [:]
        var outgoing: [OutgoingKey: UInt64] = [:]
        var perSource: [String: Int] = [:]
        /// Connections accepted on ``ListenerAudience/userAgents`` listeners, with their source.
        var guarded: [UInt64: String] = [:]
        /// The transport of each open connection.
        var kinds: [UInt64: SIPTransportKind] = [:]
        /// Connections accepted on ``ListenerAudience/peers`` listeners (certificate-authenticated).
        var peerConnections: Set<UInt64> = []
        /// UDP sockets of ``ListenerAudience/userAgents`` listeners.
        var guardedSockets: Set<SocketAddress> = []
        var datagramSockets: [SocketAddress: Channel] = [:]
        var listeners: [Channel] = []
    }

    struct OutgoingKey: Hashable {
        var transport: SIPTransportKind
        var remote: SocketAddress
    }

    private let group: EventLoopGroup
    let configuration: Configuration
    let report: @Sendable (SIPTransportEvent) -> Void
    let state = NIOLockedValueBox(State())
    let logger: Logger
    let tap: SIPTrafficTap
    private let expiry: RepeatedTask?
    /// The node's intrusion protection; roles and the admin API record events in it too.
    public let intrusion: IntrusionProtection

    /// The event loop the calling thread runs, when it is one of the transport's threads: the
    /// loop that read the message being handled.
    public static var currentEventLoop: EventLoop? {
        MultiThreadedEventLoopGroup.currentEventLoop
    }

    /// Creates a layer that reports events to `onEvent` (called on NIO event loops) and logs
    /// refusals, cut-offs and blocks to `logger`.
    public init(group: EventLoopGroup, configuration: Configuration = .init(), logger: Logger = Logger(label: "edgeway.transport"),
                onEvent: @escaping @Sendable (SIPTransportEvent) -> Void) {
        self.group = group
        self.configuration = configuration
        let tap = SIPTrafficTap()
        self.tap = tap
        let metrics = configuration.metrics
        self.report = { event in
            tap.received(event)
            if let metrics {
                switch event {
                case .sip(let message, _): metrics.received(message)
                case .malformed(let error, _, _): metrics.parseError(error.code.description)
                default: break
                }
            }
            // A connection cut by an error (a TLS handshake refused, a reset, a framing error) is
            // an event worth an operator's eye; an orderly close or an idle one is not.
            if case .flowClosed(let flow, let reason) = event, reason != "closed by peer", reason != "idle timeout" {
                logger.info("connection closed: \(reason)", metadata: ["flow": "\(flow)"])
            }
            onEvent(event)
        }
        self.logger = logger
        let intrusion = IntrusionProtection(policy: configuration.intrusionPolicy, logger: logger)
        self.intrusion = intrusion
        expiry = configuration.intrusionPolicy.enabled
            ? group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in intrusion.expire() }
            : nil
        intrusion.whenBlocked { [state] source in
            let channels = state.withLockedValue { state in
                state.guarded.filter { $0.value == source }.compactMap { state.connections[$0.key] }
            }
            for channel in channels { channel.close(promise: nil) }
        }
    }

    /// Starts listening and returns the bound address (port 0 picks a free port). A TLS listener
    /// uses `tlsContext` when given (a traversal port that requires client certificates, say),
    /// else the configuration's server context. `audience` says who connects (phones unless told).
    public func listen(_ transport: SIPTransportKind, host: String, port: Int, tlsContext: NIOSSLContext? = nil,
                       audience: ListenerAudience = .userAgents) async throws -> SocketAddress {
        let channel: Channel
        switch transport {
        case .udp:
            // No SO_REUSEADDR: on a datagram socket it would let a second process bind the same
            // port and share its traffic; a port in use must fail here as it does for TCP.
            channel = try await SIPTransportError.listening(transport, host: host, port: port) {
                try await DatagramBootstrap(group: group)
                    // A datagram socket reads 2 KiB by default, which cuts an INVITE with a large SDP
                    // short: read up to the largest message the parser accepts (at most a UDP payload).
                    .channelOption(.recvAllocator,
                                   value: FixedSizeRecvByteBufferAllocator(capacity: min(configuration.limits.maxMessageSize, 65_507)))
                    // Room for a burst of requests while the loop answers the previous ones.
                    .channelOption(.socketOption(.so_rcvbuf), value: 4 << 20)
                    .channelOption(.maxMessagesPerRead, value: 16)
                    .channelInitializer { [configuration, report, intrusion] channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                SIPDatagramChannelHandler(limits: configuration.limits, intrusion: audience == .userAgents ? intrusion : nil,
                                                          metrics: configuration.metrics, report: report))
                        }
                    }
                    .bind(host: host, port: port).get()
            }
            state.withLockedValue {
                $0.datagramSockets[channel.localAddress!] = channel
                if audience == .userAgents { $0.guardedSockets.insert(channel.localAddress!) }
            }
        case .tcp, .tls:
            let tlsServer = tlsContext ?? configuration.tlsServer
            if transport == .tls && tlsServer == nil {
                throw SIPTransportError(detail: "a TLS listener needs a TLS server context (certificate and key)")
            }
            channel = try await SIPTransportError.listening(transport, host: host, port: port) {
                try await ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 1024)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                    .childChannelInitializer { [self] channel in
                        channel.eventLoop.makeCompletedFuture {
                            try self.setUpAccepted(channel, transport: transport, tlsContext: tlsServer, audience: audience)
                        }
                    }
                    .bind(host: host, port: port).get()
            }
        }
        state.withLockedValue { $0.listeners.append(channel) }
        return channel.localAddress!
    }

    /// A flow to `remote`: an open connection of this transport to it, or a new one. For UDP the
    /// flow leaves from the first UDP listener. `local` binds a new connection to a source address;
    /// `fresh` opens a new connection even when one is open (a load generator's many phones).
    public func connect(_ transport: SIPTransportKind, to remote: SocketAddress, serverHostname: String? = nil,
                        from local: SocketAddress? = nil, fresh: Bool = false) async throws -> Flow {
        let key = OutgoingKey(transport: transport, remote: remote)
        if transport == .udp {
            guard let socket = state.withLockedValue({ $0.datagramSockets.values.first }), let local = socket.localAddress else {
                throw SIPTransportError(detail: "no UDP listener to send from")
            }
            return Flow(transport: .udp, local: local, remote: remote, connectionID: 0)
        }
        let existing = state.withLockedValue { state in
            state.outgoing[key].flatMap { id in state.connections[id].map { (id, $0) } }
        }
        if !fresh, let (id, channel) = existing, channel.isActive, let local = channel.localAddress {
            return Flow(transport: transport, local: local, remote: remote, connectionID: id)
        }
        let id = state.withLockedValue { state -> UInt64 in
            defer { state.nextConnectionID += 1 }
            return state.nextConnectionID
        }
        if transport == .tls && configuration.tlsClient == nil {
            throw SIPTransportError(detail: "a TLS connection needs a TLS client context")
        }
        if connectionCount >= configuration.maxConnections {
            throw SIPTransportError(detail: "cannot connect to \(remote): \(configuration.maxConnections) connections open, the most allowed (maxConnections)")
        }
        var bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
        if let local { bootstrap = bootstrap.bind(to: local) }
        let channel = try await bootstrap
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if transport == .tls, let context = self.configuration.tlsClient {
                        // SNI carries names only; for an IP literal the chain is still verified.
                        let isIPLiteral = serverHostname.map { (try? SocketAddress(ipAddress: $0, port: 0)) != nil } ?? false
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: context, serverHostname: isIPLiteral ? nil : serverHostname))
                    }
                    try self.addStreamHandlers(to: channel, transport: transport, connectionID: id, role: .client)
                }
            }
            .connect(to: remote).get()
        guard let localAddress = channel.localAddress else {
            // The peer closed the connection at once (a full per-source limit, say).
            channel.close(promise: nil)
            throw SIPTransportError(detail: "\(remote) closed the \(transport) connection as soon as it opened")
        }
        state.withLockedValue {
            $0.connections[id] = channel
            $0.kinds[id] = transport
            $0.outgoing[key] = id
        }
        return Flow(transport: transport, local: localAddress, remote: remote, connectionID: id)
    }

    /// Sends a SIP message on a flow.
    public func send(_ message: SIPMessage, on flow: Flow) async throws {
        try await send(message.serialized(), on: flow)
    }

    /// Sends raw bytes (SIP, STUN or a keepalive) on a flow.
    public func send(_ bytes: ByteBuffer, on flow: Flow) async throws {
        if flow.transport == .udp {
            guard let socket = state.withLockedValue({ $0.datagramSockets[flow.local] }) else {
                throw SIPTransportError(detail: "no UDP socket at \(flow.local)")
            }
            tap.sent(bytes, on: flow)
            configuration.metrics?.sent(bytes)
            try await socket.writeAndFlush(AddressedEnvelope(remoteAddress: flow.remote, data: bytes))
            return
        }
        guard let channel = state.withLockedValue({ $0.connections[flow.connectionID] }) else {
            throw SIPTransportError(detail: "flow \(flow) is closed")
        }
        tap.sent(bytes, on: flow)
        configuration.metrics?.sent(bytes)
        try await channel.writeAndFlush(bytes)
    }

    /// Queues bytes on a flow without waiting: writes on one flow leave in the order of these
    /// calls. Returns false when the flow is gone.
    @discardableResult
    public func write(_ bytes: ByteBuffer, on flow: Flow) -> Bool {
        if flow.transport == .udp {
            guard let socket = state.withLockedValue({ $0.datagramSockets[flow.local] }) else { return false }
            tap.sent(bytes, on: flow)
            configuration.metrics?.sent(bytes)
            socket.writeAndFlush(AddressedEnvelope(remoteAddress: flow.remote, data: bytes), promise: nil)
            return true
        }
        guard let channel = state.withLockedValue({ $0.connections[flow.connectionID] }) else { return false }
        tap.sent(bytes, on: flow)
        configuration.metrics?.sent(bytes)
        channel.writeAndFlush(bytes, promise: nil)
        return true
    }

    /// Reads the kernel's smoothed round-trip time of a TCP or TLS flow (Linux `TCP_INFO`
    /// `tcpi_rtt`, microseconds) and hands it to `done` on the flow's event loop; nothing when the
    /// flow is gone, is UDP, or the platform has no `TCP_INFO`.
    public func roundTripTime(of flow: Flow, _ done: @escaping @Sendable (Duration) -> Void) {
        #if os(Linux)
        guard flow.transport != .udp, let channel = state.withLockedValue({ $0.connections[flow.connectionID] }),
              let socket = channel as? SocketOptionProvider else { return }
        socket.getTCPInfo().whenSuccess { info in done(.microseconds(Int64(info.tcpi_rtt))) }
        #endif
    }

    /// Counts an intrusion-protection event against the source of `flow` when the flow came in on
    /// a user agents' listener (SPEC B28); flows this node opened and peers' flows are not counted.
    public func record(_ category: IntrusionCategory, on flow: Flow) {
        let guarded = state.withLockedValue { state in
            flow.transport == .udp ? state.guardedSockets.contains(flow.local) : state.guarded[flow.connectionID] != nil
        }
        if guarded { intrusion.record(category, from: flow.remoteHost) }
    }

    /// Closes a TCP or TLS flow.
    public func close(_ flow: Flow) {
        state.withLockedValue { $0.connections[flow.connectionID] }?.close(promise: nil)
    }

    /// The open TCP and TLS connections by transport.
    public var connectionCounts: [SIPTransportKind: Int] {
        state.withLockedValue { state in state.kinds.values.reduce(into: [:]) { $0[$1, default: 0] += 1 } }
    }

    /// The number of open TCP and TLS connections.
    public var connectionCount: Int {
        state.withLockedValue { $0.connections.count }
    }

    /// Stops accepting TCP and TLS connections; open connections and UDP sockets go on, so a
    /// draining node finishes what it has (the first step of a graceful shutdown).
    public func stopAccepting() async {
        let listeners = state.withLockedValue { state -> [Channel] in
            let datagram = state.datagramSockets.values.map(ObjectIdentifier.init)
            let (stream, kept) = (state.listeners.filter { !datagram.contains(ObjectIdentifier($0)) },
                                  state.listeners.filter { datagram.contains(ObjectIdentifier($0)) })
            state.listeners = kept
            return stream
        }
        for listener in listeners { try? await listener.close() }
    }

    /// Closes every listener and connection.
    public func shutdown() async {
        expiry?.cancel()
        let channels = state.withLockedValue { state -> [Channel] in
            defer { state = State() }
            return state.listeners + Array(state.connections.values)
        }
        for channel in channels { try? await channel.close() }
    }
}

/// An error from the transport layer, naming what is missing or closed.
public struct SIPTransportError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var detail: String

    /// Creates an error.
    public init(detail: String) {
        self.detail = detail
    }

    public var description: String { detail }

    /// Runs a bind and names the address and the cause when it fails: `cannot listen on udp
    /// 127.0.0.1:5060: the port is already in use …`.
    public static func listening<T>(_ transport: SIPTransportKind, host: String, port: Int, _ bind: () async throws -> T) async throws -> T {
        do {
            return try await bind()
        } catch let error as IOError {
            let cause = switch error.errnoCode {
            case EADDRINUSE: "the port is already in use (another process, or another listener of this one, holds it)"
            case EACCES: "permission denied (ports below 1024 need privileges)"
            case EADDRNOTAVAIL: "\(host) is not an address of this machine"
            default: "\(error)"
            }
            throw SIPTransportError(detail: "cannot listen on \(transport) \(host):\(port): \(cause)")
        }
    }
}
