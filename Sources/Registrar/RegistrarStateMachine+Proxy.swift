import Location
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport

/// The registrar's location service (RFC 3261 §16, RFC 3327 §5.3, RFC 5626 §5.3): a request for
/// a registered address of record goes to its newest binding — an INVITE to the newest binding of
/// every instance at once (``ResponseContext``) — over the very flow the binding was registered on
/// when that flow is open, else through its Path, else to its Contact. When that flow has failed (430, or no connection) the next flow of the same instance is tried (RFC 5626
/// §5.3, §7); a 430 is never sent upstream (no flow left: 480), nor a 503 (500, RFC 3261 §16.7
/// step 6). The registrar record-routes dialog-creating requests, so ACK and BYE come back through it.
extension RegistrarStateMachine {
    /// A request being proxied: waiting for its bindings, its connection or its answers.
    public struct PendingProxy: Sendable {
        /// The request as received.
        public let request: SIPMessage
        /// The flow it arrived on.
        public let flow: Flow
        /// The top Via branch of the request as received, which a CANCEL for it names.
        public let upstreamBranch: Substring?
        /// Where it is going (the Request-URI it is forwarded with).
        public internal(set) var targetURI: String
        /// The address of record of this domain it is for, if any: its binding gives the target.
        public let aor: String?
        let method: String
        /// The route set to send it with, this registrar's own entry removed.
        var routes: [NameAddress]
        /// The route set as received (this registrar's entry removed), before a binding's Path.
        let requestRoutes: [NameAddress]
        /// The other flows of the target's instance, newest first, for when its flow fails.
        var otherFlows: [Binding] = []
        /// The response context of a forked INVITE (``ResponseContext``) and this branch's number in it.
        var fork: UInt64?
        var branch = 0
    }

    /// Proxies a request that is not addressed to the registrar itself.
    mutating func proxy(_ request: SIPMessage, flow: Flow) -> [Action] {
        let method = request.requestLine?.method ?? ""
        if method == "CANCEL" {
            // RFC 3261 §16.10: a CANCEL is answered hop by hop, then sent on downstream; the
            // INVITE it names opens no new branch from now on.
            if let branch = try? request.topVia().branch { cancelledInvites.insert(String(branch)) }
            return [.cancelForwarded(ok: answer(request, 200, "OK"), unknown: answer(request, 481, "Call/Transaction Does Not Exist"))]
        }
        guard let uri = try? request.requestURI(), uri.isSIP else {
            // RFC 3261 §16.3 step 2.
            return method == "ACK" ? [] : [.respond(answer(request, 416, "Unsupported URI Scheme"))]
        }
        var routes = (try? request.nameAddresses(.route)) ?? []
        // RFC 3261 §16.4: remove the Route entry that names this registrar.
        if let first = routes.first, first.uri.parameters.contains(Self.routeMarker) { routes.removeFirst() }
        let aor = uri.host.lowercased() == domain ? uri.user.map { "sip:\($0)@\(domain)" } : nil
        var pending = PendingProxy(request: request, flow: flow, upstreamBranch: try? request.topVia().branch,
                                   targetURI: uri.description, aor: aor, method: method, routes: routes, requestRoutes: routes)
        if let aor {
            // RFC 3261 §16.5: the location service gives the target set.
            return [.lookUpBindings(aor: aor, pending: pending)]
        }
        return forward(&pending)
    }

    /// The bindings a ``Action/lookUpBindings(aor:pending:)`` asked for.
    public mutating func bindingsFound(_ result: Result<[Binding], any Error>, for pending: PendingProxy) -> [Action] {
        let bindings: [Binding]
        switch result {
        case .success(let found): bindings = found
        case .failure(let error): return pending.method == "ACK" ? [] : [.respond(storeFailed(pending.request, "location", error))]
        }
        // RFC 5626 §7: one target per instance (a binding without one is its own), its flows
        // newest first; the newest instance first.
        var instances: [[Binding]] = []
        var index: [String: Int] = [:]
        for binding in bindings.sorted(by: { $0.expiresAt > $1.expiresAt }) {
            let key = binding.instanceID ?? "contact \(binding.contactURI)"
            if let at = index[key] { instances[at].append(binding) } else {
                index[key] = instances.count
                instances.append([binding])
            }
        }
        guard !instances.isEmpty else {
            return respondUnlessACK(pending, 480, "Temporarily Unavailable (\(pending.aor ?? pending.targetURI) is not registered)")
        }
        // RFC 3261 §16.6: an INVITE forks to every instance at once; other requests go to the newest.
        let targets = pending.method == "INVITE" ? instances : [instances[0]]
        let fork = targets.count > 1 ? openFork(branches: targets.count) : nil
        return targets.enumerated().flatMap { branch, flows in
            var copy = pending
            copy.fork = fork
            copy.branch = branch
            copy.otherFlows = Array(flows.dropFirst())
            return forward(&copy, to: flows[0])
        }
    }

    /// Forwards to one binding: its Contact as the target, its Path (RFC 3327 §5.3) before the
    /// route set as received.
    private mutating func forward(_ pending: inout PendingProxy, to binding: Binding) -> [Action] {
        pending.targetURI = binding.contactURI
        pending.routes = binding.path.compactMap { try? NameAddress(parsing: $0, header: .route) } + pending.requestRoutes
        return forward(&pending)
    }

    /// The flow of the target failed: the next flow of its instance, or 480 upstream when there
    /// is none (RFC 5626 §5.3: a 430 becomes 480 here), or 487 when the INVITE was cancelled or
    /// its fork decided meanwhile (no new branch, RFC 3261 §16.7 step 10).
    private mutating func nextFlow(_ pending: PendingProxy, _ reason: String) -> [Action] {
        var pending = pending
        guard mayOpenBranch(pending) else {
            if let fork = pending.fork { return forkedBranchFailed(pending, fork: fork, status: 487, reason: "Request Terminated") }
            return respondUnlessACK(pending, 487, "Request Terminated")
        }
        guard pending.method != "ACK", !pending.otherFlows.isEmpty else {
            if let fork = pending.fork { return forkedBranchFailed(pending, fork: fork, reason: reason) }
            return respondUnlessACK(pending, 480, reason)
        }
        let next = pending.otherFlows.removeFirst()
        return forward(&pending, to: next)
    }

    /// The answer to a forwarded request: a response is relayed (RFC 3261 §16.7 step 9); a
    /// final response that never came is answered here with the status the error implies
    /// (§16.7 step 6).
    public mutating func answerReceived(_ answer: ProxyForwarder.Answer, for pending: PendingProxy) -> [Action] {
        switch answer {
        case .response(let response):
            let status = response.statusLine?.statusCode ?? 500
            if status != 430, let fork = pending.fork { return forkedResponse(response, status: status, for: pending, fork: fork) }
            switch status {
            case 430:
                // RFC 5626 §5.3: the flow failed; another flow of the instance, never a 430 upstream.
                return nextFlow(pending, "Temporarily Unavailable (no flow of \(pending.aor ?? pending.targetURI) is left)")
            case 503:
                // RFC 3261 §16.7 step 6: a proxy does not relay a 503; the element behind it is unavailable, not this one.
                let reason = response.statusLine.map { "\($0.reasonPhrase)" } ?? ""
                return respondUnlessACK(pending, 500, "Server Internal Error (downstream 503 \(reason))")
            default:
                return [.respond(response)]
            }
        case .failed(let error) where error.code == .connectionClosed || error.code == .transportFailed:
            return nextFlow(pending, "Temporarily Unavailable (\(error.detail))")
        case .failed(let error):
            let status = error.impliedStatus
            if let fork = pending.fork {
                return forkedResponse(self.answer(pending.request, status.code, "\(status.reason) (\(error.detail))"), status: status.code,
                                      for: pending, fork: fork)
            }
            return respondUnlessACK(pending, status.code, "\(status.reason) (\(error.detail))")
        }
    }

    /// No connection to the ``NextHop/address(transport:host:port:)`` of a ``Action/forward(_:to:pending:)``.
    public mutating func forwardFailed(_ error: SIPStackError, for pending: PendingProxy) -> [Action] {
        nextFlow(pending, "Temporarily Unavailable (no route to \(pending.targetURI))")
    }

    /// The request with its target, route set and Record-Route, and where it goes.
    private mutating func forward(_ pending: inout PendingProxy) -> [Action] {
        guard let hop = nextHop(pending) else {
            return nextFlow(pending, "Temporarily Unavailable (no route to \(pending.targetURI))")
        }
        var outgoing = pending.request
        if pending.aor != nil, case .request(var line) = outgoing.startLine {
            // RFC 3261 §16.6 step 2: the Request-URI is the target.
            line.uri = Substring(pending.targetURI)
            outgoing.startLine = .request(line)
        }
        outgoing.headers.remove(.route)
        for route in pending.routes { outgoing.headers.append(.route, route.description) }
        if pending.method == "INVITE" || pending.method == "SUBSCRIBE" {
            // RFC 3261 §16.6 step 4: stay in the dialog's path.
            outgoing.headers.prepend(.recordRoute, "<sip:\(ProxyForwarder.hostPort(pending.flow.local));transport=\(pending.flow.transport);lr;\(Self.routeMarker)>")
        }
        return [.forward(outgoing, to: hop, pending: pending)]
    }

    /// The registered flow of the target when it is open (RFC 5626 §5.3), else the first route,
    /// else the target itself (RFC 3261 §16.6 steps 6–7).
    private func nextHop(_ pending: PendingProxy) -> NextHop? {
        if let flow = flows.flow(for: pending.targetURI) { return .flow(flow) }
        guard let hop = pending.routes.first?.uri ?? (try? SIPURI(parsing: pending.targetURI)) else { return nil }
        let transport = hop.parameters["transport"].flatMap { SIPTransportKind(rawValue: $0.lowercased()) }
            ?? (hop.scheme.lowercased() == "sips" ? .tls : pending.flow.transport)
        let port = hop.port ?? (transport == .tls ? 5061 : 5060)
        return .address(transport: transport, host: String(hop.hostWithoutBrackets), port: port)
    }

    private mutating func respondUnlessACK(_ pending: PendingProxy, _ status: Int, _ reason: String) -> [Action] {
        pending.method == "ACK" ? [] : [.respond(answer(pending.request, status, reason))]
    }
}
