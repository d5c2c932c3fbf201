import SIPStack

/// What `xstatus` shows of a core, and its alarms (SPEC B12, B24).
extension CoreStateMachine {
    /// Alarms that hold now: an edge whose keepalive setting differs from this core's (SPEC B24).
    public var currentAlarms: [Alarm] {
        var alarms = Alarm.keepaliveMismatches(here: settings.keepaliveEnabled, linked: links.values.filter(\.up).compactMap(\.info))
        for (index, edge) in configuration.edges.enumerated() {
            guard let link = links[index], !link.up, let cause = link.downCause else { continue }
            alarms.append(.linkDown(peer: link.info?.node ?? ProxyForwarder.hostPort(edge), cause: cause))
        }
        for target in configuration.registrars {
            guard let state = registrars[target.name], state.monitor.health == .down else { continue }
            let consequence = configuration.registrarsShareBindings
                ? "the other registrars of the cluster serve its phones" : "phones registered through it fail over to other edges"
            alarms.append(Alarm(id: "registrar-unreachable", description: "registrar \(target.name) (\(ProxyForwarder.hostPort(target.address))) "
                                + "is unreachable: \(state.downCause ?? "its keepalive went unanswered"); \(consequence)"))
        }
        alarms += Alarm.maintenance(here: settings.maintenance, linked: links.values.filter(\.up).compactMap(\.info))
        return alarms.sorted { $0.description < $1.description }
    }

    /// Whether every link is up and every registrar answers its keepalive.
    public var isLinked: Bool {
        links.values.allSatisfy(\.up) && registrars.values.allSatisfy { $0.monitor.health == .up }
    }

    /// `xstatus` lines: links, registrars and their keepalive health, alarms.
    public var status: [StatusLine] {
        var lines = [StatusLine("Links Count", String(configuration.edges.count))]
        for index in configuration.edges.indices {
            let link = links[index] ?? Link()
            let prefix = "Links Link \(index + 1)"
            lines.append(StatusLine("\(prefix) Address", "\"\(ProxyForwarder.hostPort(configuration.edges[index]))\""))
            lines.append(StatusLine("\(prefix) Peer", link.info.map { "\"\($0.node)\"" } ?? "Unknown"))
            lines.append(StatusLine("\(prefix) State", link.up ? "Up" : "Down"))
            if !link.up, let cause = link.downCause { lines.append(StatusLine("\(prefix) Cause", "\"\(cause)\"")) }
            lines.append(StatusLine("\(prefix) PeerStunKeepAlive", link.info?.keepaliveEnabled == true ? "On" : "Off"))
        }
        lines.append(StatusLine("Registrars Count", String(configuration.registrars.count)))
        for (index, registrar) in configuration.registrars.enumerated() {
            let health = registrars[registrar.name]?.monitor.health ?? .unknown
            lines.append(StatusLine("Registrars Registrar \(index + 1) Name", "\"\(registrar.name)\""))
            lines.append(StatusLine("Registrars Registrar \(index + 1) State",
                                    health == .up ? "Reachable" : health == .down ? "Unreachable" : "Unknown"))
        }
        return lines + StatusLine.alarms(currentAlarms)
    }
}
