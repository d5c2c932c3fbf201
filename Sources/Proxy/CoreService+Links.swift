import NIOCore
import SIPCore
import SIPStack
import SIPTransport
import Settings

/// The traversal links (SPEC B1): the core connects to each edge, sends its heartbeat with its
/// settings and registrar health, and reconnects when the link fails.
extension CoreService {
    /// Keeps the link to one edge until the core stops.
    func keepLink(_ index: Int) async {
        let edge = configuration.edges[index]
        while !Task.isCancelled {
            var flow = state.withLockedValue { $0.links[index]?.flow }
            if flow == nil {
                flow = try? await stack.transport.connect(.tls, to: edge, serverHostname: configuration.edgeServerName)
                state.withLockedValue { $0.links[index, default: Link()].flow = flow }
            }
            if let flow {
                await heartbeat(index, on: flow)
            }
            let up = state.withLockedValue { $0.links[index]?.up ?? false }
            try? await Task.sleep(for: .milliseconds(up ? configuration.heartbeatInterval : configuration.reconnectDelay))
        }
    }

    /// One heartbeat: the link is up when the edge answers in time, else down (and reopened).
    private func heartbeat(_ index: Int, on flow: Flow) async {
        let reply = await stack.send(TraversalHeartbeat.request(from: ownInfo, on: flow), on: flow, within: configuration.linkTimeout)
        if let reply, let info = TraversalInfo(reply) {
            note(info, link: index)
        } else {
            state.withLockedValue { state in
                state.links[index]?.up = false
                state.links[index]?.flow = nil
            }
            stack.transport.close(flow)
        }
    }

    func note(_ info: TraversalInfo, link index: Int) {
        state.withLockedValue { state in
            state.links[index, default: Link()].info = info
            state.links[index]?.up = true
        }
    }

    /// What the core tells the edges.
    var ownInfo: TraversalInfo {
        let registrars = state.withLockedValue { state in state.registrars.mapValues { $0.monitor.health == .up } }
        return TraversalInfo(node: configuration.name, keepaliveEnabled: settings.isOn(.stunKeepAliveEnabled),
                             maintenance: settings.isOn(.maintenanceMode), registrars: registrars,
                             heartbeatMilliseconds: configuration.heartbeatInterval)
    }

    /// The link a flow belongs to.
    func linkIndex(of flow: Flow) -> Int? {
        state.withLockedValue { state in state.links.first { $0.value.flow?.connectionID == flow.connectionID && $0.value.flow?.transport == flow.transport }?.key }
    }

    /// The flow of the link to a named edge, when it is up.
    func linkFlow(toEdge name: String) -> Flow? {
        state.withLockedValue { state in state.links.values.first { $0.up && $0.info?.node == name }?.flow }
    }

    /// Sends the core's information over every link now.
    public func refreshLinks() {
        tellLinks()
    }

    /// Sends the core's information over every open link at once (a setting or a registrar's
    /// health changed).
    func tellLinks() {
        let links = state.withLockedValue { $0.links.compactMap { index, link in link.flow.map { (index, $0) } } }
        for (index, flow) in links {
            Task(executorPreference: EventLoopTaskExecutor(stack.eventLoop)) { [self] in
                if let reply = await stack.send(TraversalHeartbeat.request(from: ownInfo, on: flow), on: flow, within: configuration.linkTimeout),
                   let info = TraversalInfo(reply) {
                    note(info, link: index)
                }
            }
        }
    }

    func settingChanged(_ change: Settings.Change) {
        if change.path == .stunKeepAliveInterval || change.path == .stunKeepAliveTimeout {
            let interval = Int64(settings.integer(.stunKeepAliveInterval, default: 30_000))
            let timeout = Int64(settings.integer(.stunKeepAliveTimeout, default: 3_000))
            state.withLockedValue { state in
                for name in state.registrars.keys {
                    state.registrars[name]?.monitor.interval = interval
                    state.registrars[name]?.monitor.timeout = timeout
                }
            }
        }
        tellLinks()
    }

    /// Alarms raised now: an edge whose keepalive setting differs from this core's (SPEC B24).
    public var alarms: [Alarm] {
        let here = settings.isOn(.stunKeepAliveEnabled)
        return state.withLockedValue { state in
            state.links.values.compactMap { link in
                guard link.up, let info = link.info, info.keepaliveEnabled != here else { return nil }
                return Alarm.keepaliveMismatch(here: here, peer: info.node, there: info.keepaliveEnabled)
            }.sorted { $0.description < $1.description }
        }
    }

    /// `xstatus` lines: links, registrars and their keepalive health, alarms.
    public var status: [StatusLine] {
        var lines = state.withLockedValue { state -> [StatusLine] in
            var lines = [StatusLine("Links Count", String(configuration.edges.count))]
            for index in configuration.edges.indices {
                let link = state.links[index] ?? Link()
                let prefix = "Links Link \(index + 1)"
                lines.append(StatusLine("\(prefix) Address", "\"\(ProxyForwarder.hostPort(configuration.edges[index]))\""))
                lines.append(StatusLine("\(prefix) Peer", "\"\(link.info?.node ?? "?")\""))
                lines.append(StatusLine("\(prefix) State", link.up ? "Up" : "Down"))
                lines.append(StatusLine("\(prefix) PeerStunKeepAlive", link.info?.keepaliveEnabled == true ? "On" : "Off"))
            }
            lines.append(StatusLine("Registrars Count", String(configuration.registrars.count)))
            for (index, registrar) in configuration.registrars.enumerated() {
                let health = state.registrars[registrar.name]?.monitor.health ?? .unknown
                lines.append(StatusLine("Registrars Registrar \(index + 1) Name", "\"\(registrar.name)\""))
                lines.append(StatusLine("Registrars Registrar \(index + 1) State",
                                        health == .up ? "Reachable" : health == .down ? "Unreachable" : "Unknown"))
            }
            return lines
        }
        lines += StatusLine.alarms(alarms)
        return lines
    }
}
