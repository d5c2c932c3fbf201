import SIPCore
import SIPStack
import SIPTransport

/// The traversal links (SPEC B1): the core connects to each edge, sends its heartbeat with its
/// settings and registrar health, and reconnects with backoff when a link fails.
extension CoreStateMachine {
    mutating func linkConnected(_ result: Result<Flow, SIPStackError>, index: Int) -> [ProxyAction] {
        guard links[index]?.connecting == true else {
            if case .success(let flow) = result { return [.close(flow)] }  // not wanted any more
            return []
        }
        links[index]?.connecting = false
        switch result {
        case .success(let flow):
            links[index]?.flow = flow
            return [heartbeat(index, on: flow)]
        case .failure(let error):
            return retry(index, cause: "cannot connect to \(ProxyForwarder.hostPort(configuration.edges[index])): \(error.detail)")
        }
    }

    mutating func linkTimerFired(_ index: Int) -> [ProxyAction] {
        guard let link = links[index], !link.connecting, link.outstanding == nil else { return [] }
        if let flow = link.flow { return [heartbeat(index, on: flow)] }
        links[index]?.connecting = true
        return [.connect(.edgeLink(index))]
    }

    private mutating func heartbeat(_ index: Int, on flow: Flow) -> ProxyAction {
        let request = TraversalHeartbeat.request(from: ownInfo, on: flow, tokens: &responder.tokens)
        links[index]?.outstanding = request.headers[.callID].map(String.init)
        return .sendHeartbeat(request, on: flow, within: configuration.linkTimeout)
    }

    /// The answer to a heartbeat, or `nil` when none came in time. The periodic heartbeat keeps
    /// the link: without an answer it is down and reconnects; one sent after a change only
    /// brings news.
    public mutating func heartbeatAnswered(_ reply: SIPMessage?, to request: SIPMessage, on flow: Flow) -> [ProxyAction] {
        guard let index = linkIndex(of: flow) else { return [] }
        let periodic = links[index]?.outstanding != nil && links[index]?.outstanding == request.headers[.callID].map(String.init)
        if periodic { links[index]?.outstanding = nil }
        guard let reply, let info = TraversalInfo(reply) else {
            guard periodic else { return [] }
            return [.close(flow)] + linkLost(index, cause: "no answer to the heartbeat within \(configuration.linkTimeout)")
        }
        var actions = note(info, link: index)
        if periodic { actions.append(.startTimer(.link(index), after: configuration.heartbeatInterval)) }
        return actions
    }

    /// An edge's information, heard in a heartbeat answer or in the edge's own heartbeat.
    mutating func note(_ info: TraversalInfo, link index: Int) -> [ProxyAction] {
        let wasUp = links[index]?.up ?? false
        links[index]?.info = info
        links[index]?.up = true
        links[index]?.failures = 0
        links[index]?.downCause = nil
        var actions: [ProxyAction] = []
        if !wasUp { actions.append(.log(RoleEvent(.info, "traversal link up", metadata(index)))) }
        return actions + alarmBook.update(currentAlarms)
    }

    /// The link is down: forget its flow and reconnect after the backoff.
    mutating func linkLost(_ index: Int, cause: String) -> [ProxyAction] {
        let wasUp = links[index]?.up ?? false
        let lost = links[index]?.flow?.connectionID
        links[index]?.lostConnection = lost
        links[index]?.flow = nil
        links[index]?.up = false
        links[index]?.outstanding = nil
        // A link that never came up keeps the cause it has (a TLS failure told by the close of
        // its last connection), so its alarm does not change with every reconnection attempt.
        if wasUp || links[index]?.downCause == nil { links[index]?.downCause = cause }
        var actions: [ProxyAction] = wasUp ? [.log(RoleEvent(.warning, "traversal link down: \(cause)", metadata(index)))] : []
        actions += retry(index, cause: nil)
        return actions + alarmBook.update(currentAlarms)
    }

    private mutating func retry(_ index: Int, cause: String?) -> [ProxyAction] {
        let failures = (links[index]?.failures ?? 0) + 1
        links[index]?.failures = failures
        let delay = min(configuration.reconnectDelay * (1 << min(failures - 1, 16)), configuration.maxReconnectDelay)
        var actions: [ProxyAction] = [.startTimer(.link(index), after: delay)]
        if let cause, failures == 1 {
            actions.insert(.log(RoleEvent(.warning, "traversal link failed: \(cause)", metadata(index))), at: 0)
        }
        guard let cause else { return actions }
        links[index]?.downCause = cause
        return actions + alarmBook.update(currentAlarms)
    }

    /// The core stops: every link and registrar connection is closed now (un-linked, so the
    /// edges need not wait for a heartbeat timeout); nothing connects, probes or reconnects after.
    public mutating func stop() -> [ProxyAction] {
        stopped = true
        let flows = links.keys.sorted().compactMap { links[$0]?.flow }
            + registrars.keys.sorted().compactMap { registrars[$0]?.flow }
        for index in links.keys { links[index] = Link() }
        for name in registrars.keys { registrars[name]?.flow = nil }
        return flows.map(ProxyAction.close)
    }

    /// Sends the core's information over every open link at once (a setting or a registrar's
    /// health changed).
    public mutating func refreshLinks() -> [ProxyAction] {
        let info = ownInfo
        return links.keys.sorted().compactMap { index in
            guard let flow = links[index]?.flow else { return nil }
            return .sendHeartbeat(TraversalHeartbeat.request(from: info, on: flow, tokens: &responder.tokens), on: flow,
                                  within: configuration.linkTimeout)
        }
    }

    /// What the core tells the edges.
    var ownInfo: TraversalInfo {
        TraversalInfo(node: configuration.name, keepaliveEnabled: settings.keepaliveEnabled, maintenance: settings.maintenance,
                      // A registrar not probed yet is left out: neither reachable nor unreachable.
                      registrars: registrars.filter { $0.value.monitor.health != .unknown }.mapValues { $0.monitor.health == .up },
                      heartbeatInterval: configuration.heartbeatInterval)
    }

    /// The link a flow belongs to.
    func linkIndex(of flow: Flow) -> Int? {
        links.first { $0.value.flow?.connectionID == flow.connectionID && $0.value.flow?.transport == flow.transport }?.key
    }

    /// The flow of the link to a named edge, when it is up.
    func linkFlow(toEdge name: Substring) -> Flow? {
        links.keys.sorted().lazy.compactMap { self.links[$0] }.first { $0.up && $0.info?.node[...] == name }?.flow
    }

    private func metadata(_ index: Int) -> [String: String] {
        ["peer": links[index]?.info?.node ?? "?", "edge": ProxyForwarder.hostPort(configuration.edges[index]),
         "flow": links[index]?.flow.map { String($0.connectionID) } ?? "-"]
    }
}
