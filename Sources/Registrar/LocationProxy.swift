import NIOConcurrencyHelpers
import NIOCore
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import Location

/// The registrar's location service (RFC 3261 §16, RFC 3327 §5.3, RFC 5626 §5.3): a request for
/// a registered address of record goes to its newest binding — over the very flow the binding was
/// registered on when that flow is open, else through its Path, else to its Contact. The registrar
/// record-routes dialog-creating requests, so ACK and BYE come back through it.
final class LocationProxy: Sendable {
    /// The parameter that marks the registrar's own Record-Route and Route entries.
    static let routeMarker = "x-edgeway-registrar"

    private let stack: SIPStack
    private let forwarder: ProxyForwarder
    private let locations: any LocationStore
    private let domain: String
    /// The flow each registered Contact URI arrived on.
    private let flows = NIOLockedValueBox<[String: Flow]>([:])

    init(stack: SIPStack, locations: any LocationStore, domain: String) {
        self.stack = stack
        self.forwarder = ProxyForwarder(stack: stack)
        self.locations = locations
        self.domain = domain.lowercased()
    }

    /// Remembers the flow that bindings with these Contact URIs registered on.
    func noteRegistered(contactURIs: [String], flow: Flow) {
        flows.withLockedValue { table in
            for uri in contactURIs { table[uri] = flow }
        }
    }

    /// Forgets flows that closed.
    func flowClosed(_ flow: Flow) {
        flows.withLockedValue { table in table = table.filter { $0.value != flow } }
    }

    /// Proxies a request that is not addressed to the registrar itself.
    func forward(_ incoming: SIPStack.IncomingRequest, answer: @escaping @Sendable (SIPMessage, Int, String) -> SIPMessage) async {
        let request = incoming.message
        let method = request.requestLine?.method ?? ""
        if method == "CANCEL" {
            await forwarder.cancel(incoming) { answer(request, $0, $1) }
            return
        }
        guard let uri = try? request.requestURI(), uri.isSIP else {
            if method != "ACK" { incoming.respond(answer(request, 416, "Unsupported URI Scheme")) }
            return
        }
        var outgoing = request
        var routes = (try? request.nameAddresses(.route)) ?? []
        if let first = routes.first, first.uri.parameters.contains(Self.routeMarker) { routes.removeFirst() }
        var targetURI = uri.description
        if uri.host.lowercased() == domain, let user = uri.user {
            // RFC 3261 §16.5: the location service gives the target set; the newest binding wins.
            let aor = "sip:\(user)@\(domain)"
            let bindings = (try? await locations.bindings(for: aor)) ?? []
            guard let binding = bindings.max(by: { $0.expiresAt < $1.expiresAt }) else {
                if method != "ACK" { incoming.respond(answer(request, 480, "Temporarily Unavailable (\(aor) is not registered)")) }
                return
            }
            targetURI = binding.contactURI
            if case .request(var line) = outgoing.startLine {
                line.uri = Substring(targetURI)
                outgoing.startLine = .request(line)
            }
            // RFC 3327 §5.3: the Path of the binding becomes the route set.
            routes = binding.path.compactMap { try? NameAddress(parsing: $0, header: .route) } + routes
        }
        guard let flow = await nextHop(targetURI: targetURI, routes: routes, inboundTransport: incoming.flow.transport) else {
            if method != "ACK" { incoming.respond(answer(request, 480, "Temporarily Unavailable (no route to \(targetURI))")) }
            return
        }
        outgoing.headers.remove(.route)
        for route in routes { outgoing.headers.append(.route, route.description) }
        if method == "INVITE" || method == "SUBSCRIBE" {
            // Stay in the dialog's path (RFC 3261 §16.6 step 4).
            outgoing.headers.prepend(.recordRoute, "<sip:\(ProxyForwarder.hostPort(incoming.flow.local));transport=\(incoming.flow.transport);lr;\(Self.routeMarker)>")
        }
        await forwarder.forward(incoming, outgoing, on: flow) { answer(request, $0, $1) }
    }

    /// The flow to send on: the registered flow of the target, else the first route, else the target.
    private func nextHop(targetURI: String, routes: [NameAddress], inboundTransport: SIPTransportKind) async -> Flow? {
        if let flow = flows.withLockedValue({ $0[targetURI] }) { return flow }
        let hop = routes.first?.uri ?? (try? SIPURI(parsing: targetURI))
        guard let hop else { return nil }
        let transport = hop.parameters["transport"].flatMap { SIPTransportKind(rawValue: $0.lowercased()) }
            ?? (hop.scheme.lowercased() == "sips" ? .tls : inboundTransport)
        let port = hop.port ?? (transport == .tls ? 5061 : 5060)
        guard let address = try? SocketAddress.makeAddressResolvingHost(String(hop.hostWithoutBrackets), port: port) else {
            return nil
        }
        return try? await stack.transport.connect(transport, to: address, serverHostname: String(hop.hostWithoutBrackets))
    }
}
