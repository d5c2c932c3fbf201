import Logging
import NIOCore
import NIOSSL
import SIPCore

/// Accepting and setting up TCP and TLS connections: the limits and intrusion protection at
/// accept (SPEC B28), the handlers of a stream, and forgetting a connection when it closes.
extension SIPTransportLayer {
    func setUpAccepted(_ channel: Channel, transport: SIPTransportKind, tlsContext: NIOSSLContext?,
                               audience: ListenerAudience) throws {
        let source = channel.remoteAddress?.ipAddress ?? "?"
        let perSource = audience == .userAgents ? configuration.maxConnectionsPerSource : configuration.maxPeerConnectionsPerSource
        let admitted = state.withLockedValue { state -> Result<UInt64, ConnectionLimitError> in
            let ceiling = configuration.maxConnections - (audience == .userAgents ? configuration.reservedConnections : 0)
            guard state.connections.count < ceiling else {
                return .failure(ConnectionLimitError(reason: "max_connections", description: "\(state.connections.count) connections open, the most allowed for \(audience == .userAgents ? "user agents" : "peers") (maxConnections)"))
            }
            guard state.perSource[source, default: 0] < perSource else {
                return .failure(ConnectionLimitError(reason: "per_source", description: "\(perSource) connections from this source (\(audience == .userAgents ? "maxConnectionsPerSource" : "maxPeerConnectionsPerSource"))"))
            }
            state.perSource[source, default: 0] += 1
            defer { state.nextConnectionID += 1 }
            state.connections[state.nextConnectionID] = channel
            state.kinds[state.nextConnectionID] = transport
            if audience == .userAgents { state.guarded[state.nextConnectionID] = source } else { state.peerConnections.insert(state.nextConnectionID) }
            return .success(state.nextConnectionID)
        }
        let id: UInt64
        switch admitted {
        case .success(let admittedID): id = admittedID
        case .failure(let limit):
            logger.notice("connection refused", metadata: ["source": "\(source)", "transport": "\(transport)", "limit": "\(limit)"])
            configuration.metrics?.refused(limit.reason)
            channel.close(promise: nil)
            return
        }
        // Looked at once the connection is listed, so a block made meanwhile either finds it
        // there (and closes it) or is seen here.
        if audience == .userAgents && intrusion.isBlocked(source) {
            logger.debug("connection refused: source blocked by intrusion protection", metadata: ["source": "\(source)"])
            configuration.metrics?.refused("blocked")
            forget(id, source: source)
            channel.close(promise: nil)
            return
        }
        if transport == .tls, let context = tlsContext {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }
        try addStreamHandlers(to: channel, transport: transport, connectionID: id, role: .server, source: source,
                              guarded: audience == .userAgents)
    }

    func addStreamHandlers(to channel: Channel, transport: SIPTransportKind, connectionID: UInt64,
                                   role: SIPStreamFrameDecoder.KeepaliveRole, source: String? = nil, guarded: Bool = false) throws {
        let deadlines = StreamDeadlineHandler.Limits(handshake: transport == .tls ? configuration.tlsHandshakeTimeout : nil,
                                                     firstMessage: role == .server ? configuration.firstMessageTimeout : nil,
                                                     message: configuration.messageTimeout)
        let handlers: [ChannelHandler] = [
            FlushCoalescingHandler(),
            IdleConnectionHandler(timeout: configuration.idleTimeout),
            ByteToMessageHandler(SIPStreamFrameDecoder(role: role, limits: configuration.limits)),
            StreamDeadlineHandler(limits: deadlines, logger: logger),
            SIPStreamChannelHandler(transport: transport, connectionID: connectionID, intrusion: guarded ? intrusion : nil, metrics: configuration.metrics,
                                    report: report) { [self] _ in forget(connectionID, source: source) },
        ]
        try channel.pipeline.syncOperations.addHandlers(handlers)
    }

    /// Drops a closed connection from the tables.
    private func forget(_ connectionID: UInt64, source: String?) {
        state.withLockedValue { state in
            state.connections[connectionID] = nil
            state.kinds[connectionID] = nil
            state.guarded[connectionID] = nil
            state.peerConnections.remove(connectionID)
            if let source {
                state.perSource[source, default: 1] -= 1
                if state.perSource[source] == 0 { state.perSource[source] = nil }
            }
            state.outgoing = state.outgoing.filter { $0.value != connectionID }
        }
    }
}
