import NIOCore
import SIPCore
import SIPStack
import SIPTransport

/// The core's requests: from an edge towards a registrar, and from a registrar towards a phone
/// (SPEC B4, B6, B19, B20).
extension CoreStateMachine {
    /// A request that opened a server transaction (validated, its Via stamped by the stack).
    public mutating func requestReceived(_ request: SIPMessage, flow: Flow) -> [ProxyAction] {
        var message = request
        let method = message.requestLine?.method ?? ""
        let link = linkIndex(of: flow)
        if method == "OPTIONS", let info = TraversalInfo(message) {
            let actions = link.map { note(info, link: $0) } ?? []
            return [.respond(responder.heartbeatAnswer(message, own: ownInfo))] + actions
        }
        if method == "CANCEL" { return [responder.cancel(message)] }
        if let refusal = responder.maintenanceRefusal(message, node: configuration.name, settings: settings) {
            return [.respond(refusal)]
        }
        _ = NodeRoute.popOwn(&message, node: configuration.name)
        if NodeRoute.opensDialog(message) {
            message.headers.prepend(.recordRoute, NodeRoute.entry(node: configuration.name, at: configuration.sipAddress,
                                                                  transport: configuration.sipTransport))
        }
        return link != nil ? inward(message, link: link) : outward(message)
    }

    /// From an edge towards the registrars.
    private mutating func inward(_ received: SIPMessage, link: Int?) -> [ProxyAction] {
        var message = received
        let method = message.requestLine?.method ?? ""
        if let route = NodeRoute.firstRoute(of: message), method != "REGISTER" {
            // In a dialog: the next hop is the registrar that record-routed it.
            let transport = route.uri.parameters["transport"].flatMap { SIPTransportKind(rawValue: $0.lowercased()) } ?? configuration.sipTransport
            let port = route.uri.port ?? (transport == .tls ? 5061 : 5060)
            let hop = registrarFlow(host: route.uri.hostWithoutBrackets, port: port).map(NextHop.flow)
                ?? .address(transport, host: String(route.uri.hostWithoutBrackets), port: port)
            return [.forward(message, to: hop, relay: .plain(request: message))]
        }
        guard let (registrar, hop) = chooseRegistrar() else {
            return responder.refuse(message, 503, "Service Unavailable (no registrar is reachable from \(configuration.name))")
        }
        guard method == "REGISTER" else { return [.forward(message, to: hop, relay: .plain(request: message))] }
        let edgePath = (try? message.nameAddresses(.path))?.first
        if settings.pathHeaders {
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
        return [.forward(message, to: hop, relay: .coreRegister(request: message, registrar: registrar, link: link))]
    }

    /// From a registrar towards a phone: over the link to the edge its route or Contact names.
    private mutating func outward(_ received: SIPMessage) -> [ProxyAction] {
        var message = received
        let method = message.requestLine?.method ?? ""
        if let uri = try? message.requestURI(), let restored = ContactRewrite.restore(uri), case .request(var line) = message.startLine {
            line.uri = Substring(restored.uri.description)
            message.startLine = .request(line)
            message.headers.prepend(.route, "<sip:\(restored.token)@\(restored.edge).invalid;lr;\(NodeRoute.nodeParameter)=\(restored.edge)>")
        }
        guard let route = NodeRoute.firstRoute(of: message), let edge = NodeRoute.node(of: route) else {
            if method == "OPTIONS" { return [.respond(responder.answer(message, 200, "OK"))] }
            return responder.refuse(message, 404, "Not Found (no edge route in the request)")
        }
        guard let flow = linkFlow(toEdge: edge) else {
            // RFC 5626 §5.3: the flow this request was routed by is not available: 430, so the
            // registrar tries another flow of the phone's instance (through another edge).
            return responder.refuse(message, 430, "Flow Failed (the link to \(edge) is down)")
        }
        return [.forward(message, to: .flow(flow), relay: .towardsPhone(request: message))]
    }

    /// An answer to a request this core forwarded: a REGISTER's 200 OK gets the phone's own
    /// Contact back, names the registrars that hold the binding for the edge, and keeps AR_SK only when the setting is
    /// On here and on the edge (SPEC B4, B6).
    /// ``answerReceived(_:relay:)`` at `now`: a registrar that answers a REGISTER is reachable,
    /// and the edges hear so before the answer reaches them (SPEC B11: path health never
    /// contradicts what the path just carried).
    public mutating func answerReceived(_ answer: ProxyForwarder.Answer, relay: Relay, now: NIODeadline) -> [ProxyAction] {
        guard case .coreRegister(let request, let registrar, let link) = relay, case .response(let response) = answer else {
            return answerReceived(answer, relay: relay)
        }
        if let status = response.statusLine?.statusCode, (200..<300).contains(status) {
            noteRegistered(request, response, registrar: registrar, link: link, now: now)
        }
        return registrarAnswered(registrar, now: now) + answerReceived(answer, relay: relay)
    }

    public mutating func answerReceived(_ answer: ProxyForwarder.Answer, relay: Relay) -> [ProxyAction] {
        if let failed = relay.flowFailed(answer, responder: &responder) { return [.respond(failed)] }
        guard case .coreRegister(_, let registrar, let link) = relay, case .response(let response) = answer else {
            return [.respond(responder.relay(answer, to: relay.request))]
        }
        var copy = ContactRewrite.restoringContacts(response)
        copy.headers.set(Self.registrarHeader, configuration.registrarsShareBindings
                         ? configuration.registrars.map(\.name).joined(separator: ",") : registrar)
        let edgeOn = link.flatMap { links[$0]?.info?.keepaliveEnabled } ?? false
        return [.respond(ARSK.relayed(copy, onHere: settings.keepaliveEnabled, onAtPeer: edgeOn))]
    }
}
