import NIOCore
import SIPCore
import SIPStack
import SIPTransport

/// The core's decisions as a value (SPEC B1, B2, B4, B6, B11, B12, B19, B24): it opens and keeps
/// a traversal link to every edge, forwards the phones' requests to a healthy registrar —
/// rewriting their Contact (default) or adding itself in Path (`SIP Advanced SipPathHeaders`
/// On) — keeps a STUN keepalive on each registrar connection, and tells the edges which
/// registrars answer.
///
/// ```
///  link n : connect ─ok─▶ heartbeat ─200─▶ up, next heartbeat after H
///                 └fail─▶ retry after min(d·2^(k−1), dmax)   ◀─no answer / closed─┘
///  registrar : Binding request every I on its connection; no answer within T ⇒ unreachable (B12)
/// ```
/// No I/O, clock, lock, task or logger inside: the owner feeds inputs with the monotonic time
/// and performs the ``ProxyAction``s; the same inputs (and seed) always give the same actions.
public struct CoreStateMachine: Sendable {
    /// The header by which the core tells the edge which registrars hold a phone's binding: the
    /// one that accepted it, or every registrar when they share bindings (comma-separated).
    public static let registrarHeader: SIPHeaderName = "X-Edgeway-Registrar"

    /// A registrar the core forwards to.
    public struct RegistrarTarget: Sendable, Equatable {
        /// Its name in status and in the traversal information.
        public var name: String
        /// Its SIP address.
        public var address: SocketAddress
        /// TCP or TLS (the keepalive needs a connection).
        public var transport: SIPTransportKind
        /// The name its TLS certificate must carry (default `localhost`, the lab certificate's).
        public var serverName: String

        /// Creates a target.
        public init(name: String, address: SocketAddress, transport: SIPTransportKind = .tcp, serverName: String = "localhost") {
            self.name = name
            self.address = address
            self.transport = transport
            self.serverName = serverName
        }
    }

    /// How the core behaves.
    public struct Configuration: Sendable {
        /// The node name other nodes see (`core-1`).
        public var name: String
        /// The edges' traversal addresses.
        public var edges: [SocketAddress]
        /// The name the edges' certificates carry.
        public var edgeServerName: String
        /// The registrars, most preferred first.
        public var registrars: [RegistrarTarget]
        /// Whether the registrars share their bindings (one PostgreSQL location store, SPEC B35):
        /// then a phone registered through any of them is reachable through every one, and its
        /// path stays healthy while any of them is reachable. Default `false`.
        public var registrarsShareBindings: Bool
        /// The core's own SIP listener towards the registrars: Contact rewriting and Record-Route point here.
        public var sipAddress: SocketAddress
        /// Its transport.
        public var sipTransport: SIPTransportKind
        /// Time between heartbeats on each link (default 5 s).
        public var heartbeatInterval: Duration
        /// Time to wait for a heartbeat's answer before the link is down (default 3 s).
        public var linkTimeout: Duration
        /// Time before the first reconnection of a failed link (default 1 s); it doubles with
        /// each failure in a row up to ``maxReconnectDelay`` (default 8 s).
        public var reconnectDelay: Duration
        public var maxReconnectDelay: Duration

        /// Creates a configuration.
        public init(name: String, edges: [SocketAddress], edgeServerName: String = "localhost", registrars: [RegistrarTarget],
                    registrarsShareBindings: Bool = false, sipAddress: SocketAddress, sipTransport: SIPTransportKind = .tcp, heartbeatInterval: Duration = .seconds(5),
                    linkTimeout: Duration = .seconds(3), reconnectDelay: Duration = .seconds(1), maxReconnectDelay: Duration = .seconds(8)) {
            self.name = name
            self.edges = edges
            self.edgeServerName = edgeServerName
            self.registrars = registrars
            self.registrarsShareBindings = registrarsShareBindings
            self.sipAddress = sipAddress
            self.sipTransport = sipTransport
            self.heartbeatInterval = heartbeatInterval
            self.linkTimeout = linkTimeout
            self.reconnectDelay = reconnectDelay
            self.maxReconnectDelay = maxReconnectDelay
        }
    }

    struct Link {
        var flow: Flow?
        var info: TraversalInfo?
        var up = false
        var connecting = false
        /// Connection attempts or heartbeats failed in a row (the reconnection backoff).
        var failures = 0
        /// The Call-ID of the periodic heartbeat waiting for its answer.
        var outstanding: String?
        /// Why the link went down or could not come up, while it is down (its alarm).
        var downCause: String?
        /// The connection the link lost, whose close may still come to tell why (a TLS
        /// handshake that failed fails the heartbeat on it first).
        var lostConnection: UInt64?
    }

    struct RegistrarState {
        var flow: Flow?
        var monitor: KeepaliveMonitor
        var connecting = false
        /// A probe to send once the connection is open.
        var unsent: [UInt8]?
        /// Why it was declared unreachable, while it is (its alarm).
        var downCause: String?
    }

    let configuration: Configuration
    var settings: ProxySettings
    var responder: ProxyResponder
    var links: [Int: Link] = [:]
    var registrars: [String: RegistrarState] = [:]
    var alarmBook = AlarmBook()
    /// The registrations relayed, by binding key, and how many updates since the last sweep.
    var carried: [String: Carried] = [:]
    var carriedUpdates = 0
    /// Set by ``stop()``: nothing connects, probes or reconnects any more.
    var stopped = false

    /// A machine with every link down and every registrar's health unknown.
    public init(configuration: Configuration, settings: ProxySettings, tokens: TokenGenerator, now: NIODeadline) {
        self.configuration = configuration
        self.settings = settings
        self.responder = ProxyResponder(server: "Edgeway core \(configuration.name)", tagPrefix: "c", tokens: tokens)
        for index in configuration.edges.indices { links[index] = Link() }
        for registrar in configuration.registrars {
            registrars[registrar.name] = RegistrarState(monitor: KeepaliveMonitor(interval: settings.keepaliveInterval,
                                                                                  timeout: settings.keepaliveTimeout, now: now))
        }
    }

    /// Opens every link and starts every registrar's keepalive.
    public mutating func start() -> [ProxyAction] {
        guard !stopped else { return [] }
        var actions: [ProxyAction] = []
        for index in configuration.edges.indices {
            links[index]?.connecting = true
            actions.append(.connect(.edgeLink(index)))
        }
        for registrar in configuration.registrars {
            actions.append(.startTimer(.registrarKeepalive(registrar.name), after: .zero))
        }
        return actions
    }

    /// A connection the machine asked for opened, or failed with `result`'s error.
    public mutating func connected(_ result: Result<Flow, SIPStackError>, to target: ConnectTarget, now: NIODeadline) -> [ProxyAction] {
        guard !stopped else {
            if case .success(let flow) = result { return [.close(flow)] }
            return []
        }
        switch target {
        case .edgeLink(let index): return linkConnected(result, index: index)
        case .registrar(let name): return registrarConnected(result, name: name, now: now)
        }
    }

    /// A timer fired.
    public mutating func timerFired(_ timer: ProxyTimer, now: NIODeadline) -> [ProxyAction] {
        guard !stopped else { return [] }
        switch timer {
        case .link(let index): return linkTimerFired(index)
        case .registrarKeepalive(let name): return keepaliveTimerFired(name, now: now)
        case .linkSilent: return []
        }
    }

    /// A STUN message: a registrar's answer to a keepalive (SPEC B12).
    public mutating func stunReceived(_ bytes: ByteBuffer, flow: Flow, now: NIODeadline) -> [ProxyAction] {
        registrarAnswered(bytes, flow: flow, now: now)
    }

    /// A connection closed, for `reason` (the transport's: `closed by peer`, a TLS failure such as
    /// `certificate not trusted: …`): a link is down and reconnects; a registrar is unreachable at once.
    public mutating func flowClosed(_ flow: Flow, reason: String, now: NIODeadline) -> [ProxyAction] {
        let cause = closedCause(reason)
        if let index = linkIndex(of: flow) { return linkLost(index, cause: cause) }
        if reason != "closed by peer", let index = links.first(where: { !$0.value.up && $0.value.lostConnection == flow.connectionID })?.key {
            links[index]?.downCause = cause
            return alarmBook.update(currentAlarms)
        }
        if let name = registrars.first(where: { $0.value.flow?.connectionID == flow.connectionID })?.key {
            return registrarLost(name, cause: cause, now: now)
        }
        return []
    }

    /// The settings changed: keepalive timers follow, and every edge hears at once (SPEC B24).
    public mutating func settingsChanged(_ new: ProxySettings) -> [ProxyAction] {
        settings = new
        for name in registrars.keys {
            registrars[name]?.monitor.interval = new.keepaliveInterval
            registrars[name]?.monitor.timeout = new.keepaliveTimeout
        }
        return refreshLinks() + alarmBook.update(currentAlarms)
    }
}
