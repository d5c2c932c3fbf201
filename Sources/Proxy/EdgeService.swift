import NIOConcurrencyHelpers
import NIOCore
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import Settings

/// The edge (SPEC B1, B2, B5, B11, B19, B24): phones connect to it; cores connect to its traversal
/// port and everything inward or to a phone rides those traversal links. It stamps the phones'
/// Via, names their connections in flow tokens, routes requests for a phone onto that phone's own
/// connection, and answers a phone's STUN keepalive only while the whole path behind it is healthy.
public final class EdgeService: Sendable {
    /// How the edge behaves.
    public struct Configuration: Sendable {
        /// The node name other nodes see (`edge-1`).
        public var name: String
        /// The local address of the traversal listener: TLS flows to it are traversal links.
        public var traversalAddress: SocketAddress
        /// The `ingress-zone` stamped on phones' Via (SPEC B5).
        public var zone: String
        /// Milliseconds a link may stay silent beyond the core's heartbeat before it is down.
        public var linkTimeout: Int64

        /// Creates a configuration.
        public init(name: String, traversalAddress: SocketAddress, zone: String = "CollaborationEdgeZone", linkTimeout: Int64 = 3_000) {
            self.name = name
            self.traversalAddress = traversalAddress
            self.zone = zone
            self.linkTimeout = linkTimeout
        }
    }

    private struct Link {
        var flow: Flow
        var info: TraversalInfo?
        var lastHeard: Int64
    }

    private struct Phone {
        var flow: Flow
        /// The link its registration went through, and the registrar that holds it.
        var link: UInt64?
        var registrar: String?
    }

    private struct State {
        var links: [UInt64: Link] = [:]
        var phones: [UInt64: Phone] = [:]
        var stunAnswered = 0
        var stunUnanswered = 0
        var pingsAnswered = 0
    }

    private let stack: SIPStack
    private let settings: Settings
    private let configuration: Configuration
    private let clock: @Sendable () -> Int64
    private let tokens: FlowTokenSigner
    private let forwarder: ProxyForwarder
    private let state = NIOLockedValueBox(State())
    private let observation = NIOLockedValueBox<Settings.Observation?>(nil)

    /// Creates the edge on a stack (listeners opened by the caller) and attaches its handlers.
    ///
    /// - Parameter clock: milliseconds on a monotonic clock; injected so tests control time.
    public init(stack: SIPStack, settings: Settings, configuration: Configuration, tokens: FlowTokenSigner = .init(),
                clock: @escaping @Sendable () -> Int64) {
        self.stack = stack
        self.settings = settings
        self.configuration = configuration
        self.clock = clock
        self.tokens = tokens
        self.forwarder = ProxyForwarder(stack: stack)
        stack.setHandlers(onRequest: { [weak self] request in
            guard let self else { return }
            Task(executorPreference: EventLoopTaskExecutor(request.eventLoop)) { await self.handle(request) }
        }, onTransportEvent: { [weak self] event in
            self?.handle(event)
        })
        observation.withLockedValue {
            $0 = settings.observe { [weak self] _ in self?.tellLinks() }
        }
    }

    /// Stops listening to setting changes.
    public func stop() {
        observation.withLockedValue { $0?.cancel() }
    }

    // MARK: - Requests

    private func handle(_ request: SIPStack.IncomingRequest) async {
        if isLink(request.flow) {
            await fromLink(request)
        } else {
            await fromPhone(request)
        }
    }

    private func isLink(_ flow: Flow) -> Bool {
        flow.transport == .tls && flow.local == configuration.traversalAddress
    }

    private func fromLink(_ request: SIPStack.IncomingRequest) async {
        var message = request.message
        let method = message.requestLine?.method
        if method == "OPTIONS", let info = TraversalInfo(message) {
            note(info, on: request.flow)
            var ok = answer(message, 200, "OK")
            ok.headers.append(TraversalInfo.header, ownInfo.headerValue)
            request.respond(ok)
            return
        }
        if method == "CANCEL" {
            await forwarder.cancel(request) { self.answer(message, $0, $1) }
            return
        }
        guard let own = NodeRoute.popOwn(&message, node: configuration.name), let token = own.uri.user else {
            if method != "ACK" { request.respond(answer(message, 404, "Not Found (no route to a phone of \(configuration.name))")) }
            return
        }
        guard case .valid(let connectionID) = tokens.verify(token) else {
            if method != "ACK" { request.respond(answer(message, 403, "Forbidden (invalid flow token)")) }
            return
        }
        guard let phone = state.withLockedValue({ $0.phones[connectionID] }) else {
            // RFC 5626 §5.3: the flow is gone.
            if method != "ACK" { request.respond(answer(message, 430, "Flow Failed")) }
            return
        }
        if NodeRoute.opensDialog(message) {
            message.headers.prepend(.recordRoute, NodeRoute.entry(node: configuration.name, at: phone.flow.local,
                                                                  transport: phone.flow.transport, token: token.description))
        }
        await forwarder.forward(request, message, on: phone.flow) { self.answer(message, $0, $1) }
    }

    private func fromPhone(_ request: SIPStack.IncomingRequest) async {
        let flow = request.flow
        var message = request.message
        let method = message.requestLine?.method ?? ""
        if method == "CANCEL" {
            await forwarder.cancel(request) { self.answer(message, $0, $1) }
            return
        }
        // SPEC B2: in maintenance, new registrations and calls are refused; dialogs go on.
        if settings.isOn(.maintenanceMode), method == "REGISTER" || NodeRoute.opensDialog(message) {
            request.respond(answer(message, 503, "Service Unavailable (\(configuration.name) is in maintenance mode)"))
            return
        }
        // SPEC B5: received, rport and the zone, whether or not the phone asked for rport.
        message.updateTopVia { via in
            via.parameters.set("received", flow.remoteHost)
            via.parameters.set("rport", String(flow.remotePort))
            via.parameters.set("ingress-zone", configuration.zone)
        }
        _ = NodeRoute.popOwn(&message, node: configuration.name)
        let wanted = NodeRoute.firstRoute(of: message).flatMap(NodeRoute.node(of:)).map(String.init)
        guard let link = chooseLink(wanted: wanted) else {
            if method != "ACK" { request.respond(answer(message, 503, "Service Unavailable (no traversal link to a core is up)")) }
            return
        }
        let token = tokens.token(for: flow.connectionID)
        if method == "REGISTER" {
            message.headers.prepend(.path, NodeRoute.entry(node: configuration.name, at: configuration.traversalAddress,
                                                           transport: .tls, token: token, outbound: true))
            let register = message
            await forwarder.forward(request, message, on: link.flow, answer: { self.answer(message, $0, $1) }) { response in
                self.registered(response, to: register, phone: flow, link: link.flow.connectionID)
            }
            return
        }
        if NodeRoute.opensDialog(message) {
            message.headers.prepend(.recordRoute, NodeRoute.entry(node: configuration.name, at: flow.local,
                                                                  transport: flow.transport, token: token))
        }
        await forwarder.forward(request, message, on: link.flow) { self.answer(message, $0, $1) }
    }

    /// Notes a phone's successful registration and decides whether AR_SK stays advertised (SPEC B4).
    private func registered(_ response: SIPMessage, to request: SIPMessage, phone flow: Flow, link: UInt64) -> SIPMessage {
        var copy = response
        let registrar = response.headers[CoreService.registrarHeader].map(String.init)
        copy.headers.remove(CoreService.registrarHeader)
        guard let status = response.statusLine?.statusCode, (200..<300).contains(status) else { return copy }
        let peerOn = state.withLockedValue { state -> Bool in
            state.phones[flow.connectionID, default: Phone(flow: flow)].link = link
            state.phones[flow.connectionID]?.registrar = registrar
            return state.links[link]?.info?.keepaliveEnabled ?? false
        }
        var answer = settings.isOn(.stunKeepAliveEnabled) && peerOn ? copy : ARSK.withoutAcceptance(copy)
        if !ARSK.accepted(in: answer), request.offersOutbound, !answer.hasOptionTag("outbound", in: .require) {
            // SPEC B13: the edge holds the phone's flow, answers its CRLF pings and fails it with
            // 430, so it is the outbound proxy that confirms RFC 5626 and sets the pace.
            answer.headers.append(.require, "outbound")
            answer.headers.set(.flowTimer, String((try? settings.value(.outboundFlowTimer))?.integer ?? 120))
        }
        return answer
    }

    /// A link that is up: the one named when it is up, else the first healthy one (SPEC B19).
    private func chooseLink(wanted: String?) -> Link? {
        let now = clock()
        let up = state.withLockedValue { state in
            state.links.values.filter { isUp($0, now: now) }.sorted { ($0.info?.node ?? "") < ($1.info?.node ?? "") }
        }
        if let wanted, let named = up.first(where: { $0.info?.node == wanted }) { return named }
        return up.first { link in
            guard let info = link.info else { return false }
            return !info.maintenance && info.registrars.values.contains(true)
        } ?? up.first { $0.info?.maintenance == false } ?? up.first
    }

    private func isUp(_ link: Link, now: Int64) -> Bool {
        guard let info = link.info else { return false }
        return now - link.lastHeard <= info.heartbeatMilliseconds + configuration.linkTimeout
    }

    // MARK: - Transport events

    private func handle(_ event: SIPTransportEvent) {
        switch event {
        case .flowOpened(let flow):
            state.withLockedValue { state in
                if isLink(flow) {
                    state.links[flow.connectionID] = Link(flow: flow, lastHeard: clock())
                } else {
                    state.phones[flow.connectionID] = Phone(flow: flow)
                }
            }
        case .flowClosed(let flow, _):
            state.withLockedValue { state in
                state.links[flow.connectionID] = nil
                state.phones[flow.connectionID] = nil
            }
        case .stun(let bytes, let flow):
            guard !isLink(flow), shouldAnswerSTUN(on: flow), let answer = STUNBindingAnswer.answer(to: bytes, from: flow) else {
                state.withLockedValue { $0.stunUnanswered += 1 }
                return
            }
            state.withLockedValue { $0.stunAnswered += 1 }
            stack.transport.write(answer, on: flow)
        case .ping(let flow):
            // The transport answered with a CRLF pong (RFC 5626 §3.5.1).
            if !isLink(flow) { state.withLockedValue { $0.pingsAnswered += 1 } }
        case .sip, .malformed, .pong:
            break
        }
    }

    /// SPEC B11: on a phone's registered connection, only while the feature is On and the path
    /// behind it (link, core, registrar) is healthy. On UDP, as RFC 5626 §4.4.2 requires, always.
    private func shouldAnswerSTUN(on flow: Flow) -> Bool {
        guard flow.transport.isReliable else { return true }
        guard settings.isOn(.stunKeepAliveEnabled) else { return false }
        let now = clock()
        return state.withLockedValue { state in
            guard let phone = state.phones[flow.connectionID], let linkID = phone.link, let link = state.links[linkID],
                  isUp(link, now: now), let info = link.info
            else { return false }
            if let registrar = phone.registrar { return info.registrars[registrar] == true }
            return info.registrars.values.contains(true)
        }
    }

    // MARK: - Settings and status

    private var ownInfo: TraversalInfo {
        TraversalInfo(node: configuration.name, keepaliveEnabled: settings.isOn(.stunKeepAliveEnabled),
                      maintenance: settings.isOn(.maintenanceMode))
    }

    private func note(_ info: TraversalInfo, on flow: Flow) {
        let now = clock()
        state.withLockedValue { state in
            state.links[flow.connectionID, default: Link(flow: flow, lastHeard: now)].info = info
            state.links[flow.connectionID]?.lastHeard = now
        }
    }

    /// Sends this edge's settings over every link now (they go at once after a change anyway).
    public func refreshLinks() {
        tellLinks()
    }

    /// Sends this edge's settings over every link at once (SPEC B24), after a change.
    private func tellLinks() {
        let links = state.withLockedValue { Array($0.links.values) }
        for link in links {
            let heartbeat = TraversalHeartbeat.request(from: ownInfo, on: link.flow)
            Task(executorPreference: EventLoopTaskExecutor(stack.eventLoop)) { [self] in
                guard let reply = await stack.send(heartbeat, on: link.flow, within: configuration.linkTimeout),
                      let info = TraversalInfo(reply) else { return }
                note(info, on: link.flow)
            }
        }
    }

    /// Alarms raised now: a keepalive setting that differs from a linked core's (SPEC B24).
    public var alarms: [Alarm] {
        let here = settings.isOn(.stunKeepAliveEnabled)
        let now = clock()
        return state.withLockedValue { state in
            state.links.values.compactMap { link in
                guard isUp(link, now: now), let info = link.info, info.keepaliveEnabled != here else { return nil }
                return Alarm.keepaliveMismatch(here: here, peer: info.node, there: info.keepaliveEnabled)
            }.sorted { $0.description < $1.description }
        }
    }

    /// `xstatus` lines: registrations, flows, links, STUN keepalives answered, alarms.
    public var status: [StatusLine] {
        let now = clock()
        var lines = state.withLockedValue { state -> [StatusLine] in
            var lines = [
                StatusLine("Registrations Count", String(state.phones.values.filter { $0.link != nil }.count)),
                StatusLine("Flows Count", String(state.phones.count)),
                StatusLine("Keepalive Answered", String(state.stunAnswered)),
                StatusLine("Keepalive Unanswered", String(state.stunUnanswered)),
                StatusLine("Keepalive PingsAnswered", String(state.pingsAnswered)),
                StatusLine("Links Count", String(state.links.count)),
            ]
            let links = state.links.values.sorted { ($0.info?.node ?? "") < ($1.info?.node ?? "") }
            for (index, link) in links.enumerated() {
                let prefix = "Links Link \(index + 1)"
                lines.append(StatusLine("\(prefix) Peer", "\"\(link.info?.node ?? "?")\""))
                lines.append(StatusLine("\(prefix) Remote", "\"\(ProxyForwarder.hostPort(link.flow.remote))\""))
                lines.append(StatusLine("\(prefix) State", isUp(link, now: now) ? "Up" : "Down"))
                lines.append(StatusLine("\(prefix) PeerStunKeepAlive", link.info?.keepaliveEnabled == true ? "On" : "Off"))
                for (registrar, up) in (link.info?.registrars ?? [:]).sorted(by: { $0.key < $1.key }) {
                    lines.append(StatusLine("\(prefix) Registrar \(registrar)", up ? "Reachable" : "Unreachable"))
                }
            }
            return lines
        }
        lines += StatusLine.alarms(alarms)
        return lines
    }

    private func answer(_ request: SIPMessage, _ status: Int, _ reason: String) -> SIPMessage {
        var response = SIPResponseBuilder.response(to: request, statusCode: status, reasonPhrase: reason,
                                                   toTag: request.isRequest && status > 100 ? "e\(UInt32.random(in: 1...UInt32.max))" : nil)
        response.headers.append(.init("Server"), "Edgeway edge \(configuration.name)")
        return response
    }
}
