import NIOCore
import SIPStack

/// What `xstatus` shows of an edge, and its alarms (SPEC B24).
extension EdgeStateMachine {
    /// Alarms that hold now: a keepalive setting that differs from a linked core's (SPEC B24).
    public var currentAlarms: [Alarm] {
        let linked = links.values.filter(\.up).compactMap(\.info)
        var alarms = Alarm.keepaliveMismatches(here: settings.keepaliveEnabled, linked: linked)
        alarms += lostCores.map { Alarm.linkDown(peer: $0.key, cause: $0.value) }
        for info in linked {
            for (registrar, up) in info.registrars where !up {
                alarms.append(Alarm(id: "registrar-unreachable", description: "registrar \(registrar) is unreachable from \(info.node): "
                                    + "phones registered through it get no keepalive answers here unless another registrar holds their binding"))
            }
        }
        alarms += Alarm.maintenance(here: settings.maintenance, linked: linked)
        return alarms.sorted { $0.description < $1.description }
    }

    /// `xstatus` lines: flows, links, STUN keepalives answered, alarms (the registrations are
    /// ``registrations(now:)``).
    public var status: [StatusLine] {
        var lines = [
            StatusLine("Flows Count", String(phones.count)),
            StatusLine("Flows TLS", String(phones.values.filter { $0.flow.transport == .tls }.count)),
            StatusLine("Flows TCP", String(phones.values.filter { $0.flow.transport == .tcp }.count)),
            StatusLine("Keepalive Answered", String(counters.stunAnswered)),
            StatusLine("Keepalive Unanswered", String(counters.stunUnanswered)),
            StatusLine("Keepalive PingsAnswered", String(counters.pingsAnswered)),
            StatusLine("Keepalive Withheld FeatureOff", String(withheld["feature off", default: 0])),
            StatusLine("Keepalive Withheld LinkDown", String(withheld["traversal link down", default: 0])),
            StatusLine("Keepalive Withheld RegistrarUnreachable", String(withheld["registrar unreachable", default: 0])),
            StatusLine("Keepalive Withheld NotRegistered", String(withheld["not registered", default: 0])),
            // Switched Off: flows granted AR_SK before still answered until their next refresh.
            StatusLine("Keepalive AnsweredUntilRefresh", settings.keepaliveEnabled ? "0" : String(phones.values.filter(\.arsk).count)),
            StatusLine("Links Count", String(links.count)),
        ]
        let sorted = links.values.sorted { ($0.info?.node ?? "", $0.flow.connectionID) < ($1.info?.node ?? "", $1.flow.connectionID) }
        for (index, link) in sorted.enumerated() {
            let prefix = "Links Link \(index + 1)"
            lines.append(StatusLine("\(prefix) Peer", "\"\(link.info?.node ?? "?")\""))
            lines.append(StatusLine("\(prefix) Remote", "\"\(ProxyForwarder.hostPort(link.flow.remote))\""))
            lines.append(StatusLine("\(prefix) State", link.up ? "Up" : "Down"))
            lines.append(StatusLine("\(prefix) PeerStunKeepAlive", link.info?.keepaliveEnabled == true ? "On" : "Off"))
            for (registrar, up) in (link.info?.registrars ?? [:]).sorted(by: { $0.key < $1.key }) {
                lines.append(StatusLine("\(prefix) Registrar \(registrar)", up ? "Reachable" : "Unreachable"))
            }
        }
        return lines + StatusLine.alarms(currentAlarms)
    }

    /// The phones registered through this edge at `now`: each flow's last granted registration,
    /// with its AR_SK and when its keepalive was last answered, until it lapses.
    public func registrations(now: NIODeadline) -> [RegistrationListing] {
        phones.values.sorted { $0.flow.connectionID < $1.flow.connectionID }.compactMap { phone in
            guard phone.link != nil, var listing = phone.registration, let at = phone.registeredAt else { return nil }
            listing.expiresIn -= Int((now - at).nanoseconds / 1_000_000_000)
            guard listing.expiresIn > 0 else { return nil }
            listing.edge = configuration.name
            listing.flow = "\(phone.flow.transport.rawValue) \(ProxyForwarder.hostPort(phone.flow.remote))"
            listing.registrars = phone.registrars.map(String.init)
            listing.arsk = phone.arsk
            listing.lastKeepalive = phone.lastKeepalive.map { Int((now - $0).nanoseconds / 1_000_000_000) }
            listing.keepaliveRTT = phone.keepaliveRTT
            return listing
        }
    }
}
