import NIOConcurrencyHelpers
import NIOCore
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import Settings

/// The core (SPEC B1, B6, B12, B19, B24): it opens and keeps a traversal link to every edge,
/// forwards the phones' requests to a healthy registrar — rewriting their Contact (default) or
/// adding itself in Path (`SIP Advanced SipPathHeaders` On) — keeps a STUN keepalive on each
/// registrar connection, and tells the edges which registrars answer.
public final class CoreService: Sendable {
    /// The header by which the core tells the edge which registrar holds a phone's binding.
    public static let registrarHeader: SIPHeaderName = "X-Edgeway-Registrar"

    /// A registrar the core forwards to.
    public struct RegistrarTarget: Sendable, Equatable {
        /// Its name in status and in the traversal information.
        public var name: String
        /// Its SIP address.
        public var address: SocketAddress
        /// TCP or TLS (the keepalive needs a connection).
        public var transport: SIPTransportKind

        /// Creates a target.
        public init(name: String, address: SocketAddress, transport: SIPTransportKind = .tcp) {
            self.name = name
            self.address = address
            self.transport = transport
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
        /// The core's own SIP listener towards the registrars: Contact rewriting and Record-Route point here.
        public var sipAddress: SocketAddress
        /// Its transport.
        public var sipTransport: SIPTransportKind
        /// Milliseconds between heartbeats on each link (default 5,000), and to wait for an answer (3,000).
        public var heartbeatInterval: Int64
        public var linkTimeout: Int64
        /// Milliseconds to wait before reconnecting a link that failed (default 1,000).
        public var reconnectDelay: Int64

        /// Creates a configuration.
        public init(name: String, edges: [SocketAddress], edgeServerName: String = "localhost", registrars: [RegistrarTarget],
                    sipAddress: SocketAddress, sipTransport: SIPTransportKind = .tcp, heartbeatInterval: Int64 = 5_000,
                    linkTimeout: Int64 = 3_000, reconnectDelay: Int64 = 1_000) {
            self.name = name
            self.edges = edges
            self.edgeServerName = edgeServerName
            self.registrars = registrars
            self.sipAddress = sipAddress
            self.sipTransport = sipTransport
            self.heartbeatInterval = heartbeatInterval
            self.linkTimeout = linkTimeout
            self.reconnectDelay = reconnectDelay
        }
    }

    struct Link {
        var flow: Flow?
        var info: TraversalInfo?
        var up = false
    }

    struct RegistrarState {
        var flow: Flow?
        var monitor: KeepaliveMonitor
    }

    struct State {
        var links: [Int: Link] = [:]
        var registrars: [String: RegistrarState] = [:]
    }

    let stack: SIPStack
    let settings: Settings
    let configuration: Configuration
    let clock: @Sendable () -> Int64
    let state = NIOLockedValueBox(State())
    private let forwarder: ProxyForwarder
    private let tasks = NIOLockedValueBox<[Task<Void, Never>]>([])
    private let observation = NIOLockedValueBox<Settings.Observation?>(nil)

    /// Creates the core on a stack whose SIP listener is already open; ``start()`` opens the links.
    public init(stack: SIPStack, settings: Settings, configuration: Configuration, clock: @escaping @Sendable () -> Int64) {
        self.stack = stack
        self.settings = settings
        self.configuration = configuration
        self.clock = clock
        self.forwarder = ProxyForwarder(stack: stack)
        let interval = Int64(settings.integer(.stunKeepAliveInterval, default: 30_000))
        let timeout = Int64(settings.integer(.stunKeepAliveTimeout, default: 3_000))
        let now = clock()
        state.withLockedValue { state in
            for registrar in configuration.registrars {
                state.registrars[registrar.name] = RegistrarState(monitor: KeepaliveMonitor(interval: interval, timeout: timeout, now: now))
            }
        }
        stack.setHandlers(onRequest: { [weak self] request in
            guard let self else { return }
            Task(executorPreference: EventLoopTaskExecutor(request.eventLoop)) { await self.handle(request) }
        }, onTransportEvent: { [weak self] event in
            self?.handle(event)
        })
    }

    /// Opens the traversal links and starts the registrar keepalives.
    public func start() {
        observation.withLockedValue {
            $0 = settings.observe { [weak self] change in self?.settingChanged(change) }
        }
        // On the stack's event loop: the links and keepalives never wait for Swift's shared executor.
        let executor = EventLoopTaskExecutor(stack.eventLoop)
        var started: [Task<Void, Never>] = []
        for index in configuration.edges.indices {
            started.append(Task(executorPreference: executor) { [weak self] in await self?.keepLink(index) })
        }
        for registrar in configuration.registrars {
            started.append(Task(executorPreference: executor) { [weak self] in await self?.keepRegistrar(registrar) })
        }
        tasks.withLockedValue { $0 = started }
    }

    /// Stops the links and keepalives (the caller closes the transport).
    public func stop() {
        observation.withLockedValue { $0?.cancel() }
        tasks.withLockedValue { $0 }.forEach { $0.cancel() }
    }

    // MARK: - Requests

    private func handle(_ request: SIPStack.IncomingRequest) async {
        var message = request.message
        let method = message.requestLine?.method ?? ""
        let fromLink = linkIndex(of: request.flow) != nil
        if method == "OPTIONS", let info = TraversalInfo(message) {
            if let index = linkIndex(of: request.flow) { note(info, link: index) }
            var ok = answer(message, 200, "OK")
            ok.headers.append(TraversalInfo.header, ownInfo.headerValue)
            request.respond(ok)
            return
        }
        if method == "CANCEL" {
            await forwarder.cancel(request) { self.answer(message, $0, $1) }
            return
        }
        if settings.isOn(.maintenanceMode), method == "REGISTER" || NodeRoute.opensDialog(message) {
            request.respond(answer(message, 503, "Service Unavailable (\(configuration.name) is in maintenance mode)"))
            return
        }
        _ = NodeRoute.popOwn(&message, node: configuration.name)
        if NodeRoute.opensDialog(message) {
            message.headers.prepend(.recordRoute, NodeRoute.entry(node: configuration.name, at: configuration.sipAddress,
                                                                  transport: configuration.sipTransport))
        }
        if fromLink {
            await inward(request, message)
        } else {
            await outward(request, message)
        }
    }

    /// From an edge towards the registrars.
    private func inward(_ request: SIPStack.IncomingRequest, _ received: SIPMessage) async {
        var message = received
        let method = message.requestLine?.method ?? ""
        if let route = NodeRoute.firstRoute(of: message), method != "REGISTER" {
            // In a dialog: the next hop is the registrar that record-routed it.
            guard let flow = await connect(to: route.uri) else {
                if method != "ACK" { request.respond(answer(message, 503, "Service Unavailable (cannot reach \(route.uri))")) }
                return
            }
            await forwarder.forward(request, message, on: flow) { self.answer(message, $0, $1) }
            return
        }
        guard let (registrar, flow) = await chooseRegistrar() else {
            if method != "ACK" { request.respond(answer(message, 503, "Service Unavailable (no registrar is reachable from \(configuration.name))")) }
            return
        }
        guard method == "REGISTER" else {
            await forwarder.forward(request, message, on: flow) { self.answer(message, $0, $1) }
            return
        }
        let pathMode = settings.isOn(.sipPathHeaders)
        let edgePath = (try? message.nameAddresses(.path))?.first
        if pathMode {
            message.headers.prepend(.path, NodeRoute.entry(node: configuration.name, at: configuration.sipAddress,
                                                           transport: configuration.sipTransport))
        } else if let edgePath, let edge = NodeRoute.node(of: edgePath), let token = edgePath.uri.user {
            // SPEC B6 default: the Contact points here; the edge's Path lives on inside it.
            message.headers.remove(.path)
            let contacts = (try? message.contacts()) ?? []
            if !message.isWildcardContact, !contacts.isEmpty {
                message.headers.remove(.contact)
                for var contact in contacts {
                    contact.uri = ContactRewrite.rewrite(contact.uri, core: configuration.sipAddress, transport: configuration.sipTransport,
                                                         edge: String(edge), token: String(token))
                    message.headers.append(.contact, contact.description)
                }
            }
        }
        let edgeOn = linkIndex(of: request.flow).flatMap { index in state.withLockedValue { $0.links[index]?.info?.keepaliveEnabled } } ?? false
        await forwarder.forward(request, message, on: flow, answer: { self.answer(message, $0, $1) }) { response in
            var copy = ContactRewrite.restoringContacts(response)
            copy.headers.set(Self.registrarHeader, registrar)
            return self.settings.isOn(.stunKeepAliveEnabled) && edgeOn ? copy : ARSK.withoutAcceptance(copy)
        }
    }

    /// From a registrar towards a phone: over the link to the edge its route or Contact names.
    private func outward(_ request: SIPStack.IncomingRequest, _ received: SIPMessage) async {
        var message = received
        let method = message.requestLine?.method ?? ""
        if let uri = try? message.requestURI(), let restored = ContactRewrite.restore(uri), case .request(var line) = message.startLine {
            line.uri = Substring(restored.uri.description)
            message.startLine = .request(line)
            message.headers.prepend(.route, "<sip:\(restored.token)@\(restored.edge).invalid;lr;\(NodeRoute.nodeParameter)=\(restored.edge)>")
        }
        guard let route = NodeRoute.firstRoute(of: message), let edge = NodeRoute.node(of: route) else {
            if method == "OPTIONS" {
                request.respond(answer(message, 200, "OK"))
            } else if method != "ACK" {
                request.respond(answer(message, 404, "Not Found (no edge route in the request)"))
            }
            return
        }
        guard let flow = linkFlow(toEdge: String(edge)) else {
            if method != "ACK" { request.respond(answer(message, 480, "Temporarily Unavailable (the link to \(edge) is down)")) }
            return
        }
        await forwarder.forward(request, message, on: flow) { self.answer(message, $0, $1) }
    }

    private func connect(to uri: SIPURI) async -> Flow? {
        let transport = uri.parameters["transport"].flatMap { SIPTransportKind(rawValue: $0.lowercased()) } ?? configuration.sipTransport
        guard let address = try? SocketAddress.makeAddressResolvingHost(String(uri.hostWithoutBrackets),
                                                                        port: uri.port ?? (transport == .tls ? 5061 : 5060))
        else { return nil }
        return try? await stack.transport.connect(transport, to: address, serverHostname: String(uri.hostWithoutBrackets))
    }

    func answer(_ request: SIPMessage, _ status: Int, _ reason: String) -> SIPMessage {
        var response = SIPResponseBuilder.response(to: request, statusCode: status, reasonPhrase: reason,
                                                   toTag: status > 100 ? "c\(UInt32.random(in: 1...UInt32.max))" : nil)
        response.headers.append(.init("Server"), "Edgeway core \(configuration.name)")
        return response
    }
}

extension Settings {
    /// The value of an integer setting, or `fallback`.
    func integer(_ path: SettingPath, default fallback: Int) -> Int {
        (try? value(path))?.integer ?? fallback
    }
}
