import NIOCore
import SIPCore
import SIPStack
import SIPTransport

/// The edge's decisions as a value (SPEC B1, B2, B4, B5, B11, B13, B19, B24): phones connect to
/// it; cores connect to its traversal port, and everything inward or to a phone rides those
/// links. It stamps phones' Via, names their connections in flow tokens, routes requests for a
/// phone onto that phone's own connection, and answers a phone's STUN keepalive only while the
/// whole path behind it is healthy.
///
/// ```
///  phone ──TLS──▶ [edge] ══ traversal link (opened by the core, heartbeat every H) ══ core
///  link up   : heartbeat with TraversalInfo heard within H + linkTimeout
///  STUN      : answered iff feature On ∧ phone's link up ∧ its registrar reachable (B11)
/// ```
/// No I/O, clock, lock, task or logger inside: the owner feeds inputs and performs the
/// ``ProxyAction``s; the same inputs (and generator seed) always give the same actions.
public struct EdgeStateMachine: Sendable {
    /// How the edge behaves.
    public struct Configuration: Sendable {
        /// The node name other nodes see (`edge-1`).
        public var name: String
        /// The local address of the traversal listener: TLS flows to it are traversal links.
        public var traversalAddress: SocketAddress
        /// The `ingress-zone` stamped on phones' Via (SPEC B5). Default `CollaborationEdgeZone`.
        public var zone: String
        /// How long a link may stay silent beyond the core's heartbeat interval before it is
        /// down (default 3 s), and how long the edge waits for the answer to its own heartbeat.
        public var linkTimeout: Duration

        /// Creates a configuration.
        public init(name: String, traversalAddress: SocketAddress, zone: String = "CollaborationEdgeZone",
                    linkTimeout: Duration = .seconds(3)) {
            self.name = name
            self.traversalAddress = traversalAddress
            self.zone = zone
            self.linkTimeout = linkTimeout
        }
    }

    struct Link {
        var flow: Flow
        var info: TraversalInfo?
        var up = false
    }

    struct Phone {
        var flow: Flow
        /// The link its registration went through, and the registrars that hold its binding
        /// (one, or every registrar of a cluster that shares bindings; empty: not said).
        var link: UInt64?
        var registrars: [Substring] = []
        /// Its last 200 OK granted AR_SK: its keepalives are answered until its next refresh even
        /// after the feature is switched Off (SPEC B11), so the change causes no failover.
        var arsk = false
        /// What its last 2xx granted, and when; when the edge last answered its keepalive.
        var registration: RegistrationListing?
        var registeredAt: NIODeadline?
        var lastKeepalive: NIODeadline?
        /// The flow's smoothed round-trip time when its last keepalive was answered.
        var keepaliveRTT: Duration?
    }

    let configuration: Configuration
    var settings: ProxySettings
    private let signer: FlowTokenSigner
    var responder: ProxyResponder
    var links: [UInt64: Link] = [:]
    var phones: [UInt64: Phone] = [:]
    var counters = (stunAnswered: 0, stunUnanswered: 0, pingsAnswered: 0)
    /// Keepalives withheld, by reason (`feature off`, `traversal link down`, `registrar
    /// unreachable`, `not registered`).
    var withheld: [String: Int] = [:]
    var alarmBook = AlarmBook()
    /// Cores whose link went down, by name, with why, until a link from them is up again.
    var lostCores: [String: String] = [:]

    /// A machine with no links and no phones yet.
    public init(configuration: Configuration, settings: ProxySettings, signer: FlowTokenSigner, tokens: TokenGenerator) {
        self.configuration = configuration
        self.settings = settings
        self.signer = signer
        self.responder = ProxyResponder(server: "Edgeway edge \(configuration.name)", tagPrefix: "e", tokens: tokens)
    }

    // MARK: - Requests

    /// A request that opened a server transaction (validated, its Via stamped by the stack).
    public mutating func requestReceived(_ request: SIPMessage, flow: Flow) -> [ProxyAction] {
        isTraversal(flow) ? fromLink(request, flow: flow) : fromPhone(request, flow: flow)
    }

    private mutating func fromLink(_ request: SIPMessage, flow: Flow) -> [ProxyAction] {
        var message = request
        let method = message.requestLine?.method
        if method == "OPTIONS", let info = TraversalInfo(message) {
            var actions = note(info, on: flow)
            actions.insert(.respond(responder.heartbeatAnswer(message, own: ownInfo)), at: 0)
            return actions
        }
        if method == "CANCEL" { return [responder.cancel(message)] }
        guard let own = NodeRoute.popOwn(&message, node: configuration.name), let token = own.uri.user else {
            return responder.refuse(message, 404, "Not Found (no route to a phone of \(configuration.name))")
        }
        guard case .valid(let connectionID) = signer.verify(token) else {
            return responder.refuse(message, 403, "Forbidden (invalid flow token)")  // RFC 5626 §5.3
        }
        guard let phone = phones[connectionID] else {
            return responder.refuse(message, 430, "Flow Failed")  // RFC 5626 §5.3: the flow is gone.
        }
        if NodeRoute.opensDialog(message) {
            message.headers.prepend(.recordRoute, NodeRoute.entry(node: configuration.name, at: phone.flow.local,
                                                                  transport: phone.flow.transport, token: token.description))
        }
        return [.forward(message, to: .flow(phone.flow), relay: .towardsPhone(request: request))]
    }

    private mutating func fromPhone(_ request: SIPMessage, flow: Flow) -> [ProxyAction] {
        var message = request
        let method = message.requestLine?.method ?? ""
        if method == "CANCEL" { return [responder.cancel(message)] }
        if let refusal = responder.maintenanceRefusal(message, node: configuration.name, settings: settings) {
            return [.respond(refusal)]
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
            return responder.refuse(message, 503, "Service Unavailable (no traversal link to a core is up)")
        }
        let token = signer.token(for: flow.connectionID)
        if method == "REGISTER" {
            message.headers.prepend(.path, NodeRoute.entry(node: configuration.name, at: configuration.traversalAddress,
                                                           transport: .tls, token: token, outbound: true))
            return [.forward(message, to: .flow(link.flow), relay: .edgeRegister(request: message, phone: flow, link: link.flow.connectionID))]
        }
        if NodeRoute.opensDialog(message) {
            message.headers.prepend(.recordRoute, NodeRoute.entry(node: configuration.name, at: flow.local,
                                                                  transport: flow.transport, token: token))
        }
        return [.forward(message, to: .flow(link.flow), relay: .plain(request: message))]
    }

    /// SPEC B19: the link named by the route when it is up, else the first whose core is out of
    /// maintenance and reaches a registrar, else any core out of maintenance, else any link up.
    private func chooseLink(wanted: String?) -> Link? {
        let up = links.values.filter(\.up).sorted { ($0.info?.node ?? "") < ($1.info?.node ?? "") }
        if let wanted, let named = up.first(where: { $0.info?.node == wanted }) { return named }
        return up.first { link in
            guard let info = link.info else { return false }
            return !info.maintenance && info.registrars.values.contains(true)
        } ?? up.first { $0.info?.maintenance == false } ?? up.first
    }

    /// An answer to a request this edge forwarded, at `now`.
    public mutating func answerReceived(_ answer: ProxyForwarder.Answer, relay: Relay, now: NIODeadline) -> [ProxyAction] {
        if let failed = relay.flowFailed(answer, responder: &responder) { return [.respond(failed)] }
        let response = responder.relay(answer, to: relay.request)
        let counted: [ProxyAction] = Self.isAuthenticationFailure(response, to: relay.request) ? [.recordIntrusion(.sipAuthentication)] : []
        guard case .edgeRegister(let request, let phone, let link) = relay else { return [.respond(response)] + counted }
        let before = phones[phone.connectionID]?.registration
        let answer = registered(response, to: request, phone: phone, link: link, now: now)
        return [.respond(answer)] + counted + registrationEvent(request, answer, phone: phone, link: link, before: before)
    }

    /// The event log's line for a REGISTER's final answer (issue 14): a new registration on a
    /// connection with AOR, device, AR_SK and why it was not granted; a removal; a refusal with
    /// its status. Refreshes and challenges are not logged.
    private func registrationEvent(_ request: SIPMessage, _ answer: SIPMessage, phone flow: Flow, link: UInt64,
                                   before: RegistrationListing?) -> [ProxyAction] {
        guard let status = answer.statusLine?.statusCode, status != 401, status != 407 else { return [] }
        let granted = phones[flow.connectionID]?.registration
        // A refresh (registered before and after) is not logged: nothing is built for it.
        if (200..<300).contains(status), (granted != nil) == (before != nil) { return [] }
        var metadata = ["flow": flow.description, "call-id": String(request.callID ?? "")]
        metadata["aor"] = (try? request.to()).map { String($0.uriText) } ?? before?.aor
        guard (200..<300).contains(status) else {
            return [.log(RoleEvent(.info, "registration refused: \(status) \(answer.statusLine?.reasonPhrase ?? "")", metadata))]
        }
        guard let granted else { return [.log(RoleEvent(.info, "registration removed", metadata))] }
        metadata["device"] = granted.device
        metadata["instance"] = granted.instance
        let offered = ARSK.offered(in: request), accepted = ARSK.accepted(in: answer)
        metadata["arsk"] = accepted ? "accepted" : !offered ? "not offered by the phone"
            : !settings.keepaliveEnabled ? "refused: StunKeepAliveForRegisteredPathEnabled is Off on this edge"
            : links[link]?.info?.keepaliveEnabled == false ? "refused: StunKeepAliveForRegisteredPathEnabled is Off on the core"
            : "refused: not granted upstream"
        return [.log(RoleEvent(.info, "registration accepted", metadata))]
    }

    /// SPEC B28: a 403 to a REGISTER (the registrar refusing the account; a 403 to an INVITE is
    /// the callee's, not the caller's fault), or a 401/407 to a request that carried credentials
    /// unless the challenge says only the nonce was stale (RFC 3261 §22.4, RFC 7616 §3.3). A first
    /// challenge is not a failure.
    static func isAuthenticationFailure(_ response: SIPMessage, to request: SIPMessage) -> Bool {
        switch response.statusLine?.statusCode {
        case 403: return request.requestLine?.method == "REGISTER"
        case 401, 407:
            guard request.headers[.authorization] != nil || request.headers[.proxyAuthorization] != nil else { return false }
            let challenges = response.headers.lines(.wwwAuthenticate) + response.headers.lines(.proxyAuthenticate)
            return !challenges.contains { challenge in
                challenge.lowercased().filter { !" \t\"".contains($0) }.contains("stale=true")
            }
        default: return false
        }
    }

    /// Notes a phone's registration and decides whether AR_SK stays advertised (SPEC B4).
    private mutating func registered(_ response: SIPMessage, to request: SIPMessage, phone flow: Flow, link: UInt64, now: NIODeadline) -> SIPMessage {
        var copy = response
        let registrars = response.headers[CoreStateMachine.registrarHeader]?.split(separator: ",") ?? []
        copy.headers.remove(CoreStateMachine.registrarHeader)
        guard let status = response.statusLine?.statusCode, (200..<300).contains(status) else { return copy }
        // A phone whose connection closed while its REGISTER was on its way is not brought back.
        phones[flow.connectionID]?.link = link
        phones[flow.connectionID]?.registrars = registrars.map { $0.trimmingCharacters(in: .whitespaces)[...] }
        phones[flow.connectionID]?.registration = RegistrationListing.granted(request, response).first
        phones[flow.connectionID]?.registeredAt = now
        var answer = ARSK.relayed(copy, onHere: settings.keepaliveEnabled, onAtPeer: links[link]?.info?.keepaliveEnabled ?? false)
        phones[flow.connectionID]?.arsk = ARSK.accepted(in: answer)
        if !ARSK.accepted(in: answer), request.offersOutbound, !answer.hasOptionTag("outbound", in: .require) {
            // SPEC B13: the edge holds the phone's flow, answers its CRLF pings and fails it with
            // 430, so it is the outbound proxy that confirms RFC 5626 and sets the pace.
            answer.headers.append(.require, "outbound")
            answer.headers.set(.flowTimer, String(settings.flowTimerSeconds))
        }
        return answer
    }
}
