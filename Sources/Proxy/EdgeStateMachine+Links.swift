import NIOCore
import SIPCore
import SIPTransport

/// The edge's side of the traversal links and of its phones' connections (SPEC B1, B11, B24).
extension EdgeStateMachine {
    /// A connection opened: a traversal link (its first heartbeat will bring it up) or a phone's.
    public mutating func flowOpened(_ flow: Flow) -> [ProxyAction] {
        if isTraversal(flow) {
            links[flow.connectionID] = Link(flow: flow)
        } else {
            phones[flow.connectionID] = Phone(flow: flow)
        }
        return []
    }

    /// A connection closed, for `reason` (the transport's): a link is down at once; a phone's
    /// flow is forgotten (its binding then gets 430, RFC 5626 §5.3).
    public mutating func flowClosed(_ flow: Flow, reason: String) -> [ProxyAction] {
        phones[flow.connectionID] = nil
        guard let link = links.removeValue(forKey: flow.connectionID) else { return [] }
        let cause = closedCause(reason)
        if link.up, let core = link.info?.node { lostCores[core] = cause }
        var actions: [ProxyAction] = [.cancelTimer(.linkSilent(flow.connectionID))]
        if link.up { actions.append(.log(RoleEvent(.warning, "traversal link down: \(cause)", metadata(link)))) }
        return actions + alarmBook.update(currentAlarms)
    }

    /// A STUN message on a connection: a phone's keepalive is answered only while the feature is
    /// On (or was when its registration was last granted AR_SK) and its registered path is
    /// healthy (SPEC B11); on UDP always (RFC 5626 §4.4.2).
    public mutating func stunReceived(_ bytes: ByteBuffer, flow: Flow, now: NIODeadline) -> [ProxyAction] {
        guard !isTraversal(flow) else { return [] }
        if let reason = withholdReason(on: flow, now: now) {
            counters.stunUnanswered += 1
            withheld[reason, default: 0] += 1
            // Debug: during an outage every phone's keepalive is withheld (a diagnostic log sees it).
            var metadata = ["flow": flow.description, "reason": reason]
            metadata["aor"] = phones[flow.connectionID]?.registration?.aor
            return [.log(RoleEvent(.debug, "keepalive withheld: \(reason)", metadata))]
        }
        guard let answer = STUNBindingAnswer.answer(to: bytes, from: flow) else {
            counters.stunUnanswered += 1
            return []
        }
        counters.stunAnswered += 1
        phones[flow.connectionID]?.lastKeepalive = now
        return [.sendSTUN(answer, on: flow)] + (phones[flow.connectionID] != nil && flow.transport.isReliable ? [.measureRoundTrip(flow)] : [])
    }

    /// The flow's round-trip time as the kernel measured it when its keepalive was answered.
    mutating func roundTripMeasured(_ rtt: Duration, on flow: Flow) -> [ProxyAction] {
        phones[flow.connectionID]?.keepaliveRTT = rtt
        return []
    }

    /// A CRLF ping, already answered with a pong by the transport (RFC 5626 §3.5.1).
    public mutating func pingReceived(_ flow: Flow) -> [ProxyAction] {
        if !isTraversal(flow) { counters.pingsAnswered += 1 }
        return []
    }

    /// Why a phone's keepalive on `flow` goes unanswered (SPEC B11), or `nil` to answer it:
    /// `not registered`, `feature off`, `traversal link down`, `registrar unreachable`.
    private func withholdReason(on flow: Flow, now: NIODeadline) -> String? {
        guard flow.transport.isReliable else { return nil }
        guard let phone = phones[flow.connectionID] else { return "not registered" }
        // A registration past its expiry is no registration (RFC 3261 §10.2.4): the phone must
        // refresh. (A 200 OK whose Contacts the edge could not match to the phone's gives no expiry.)
        if let granted = phone.registration, let at = phone.registeredAt, now - at >= .seconds(Int64(granted.expiresIn)) { return "not registered" }
        guard settings.keepaliveEnabled || phone.arsk else { return "feature off" }
        guard let linkID = phone.link, let link = links[linkID], link.up, let info = link.info else { return "traversal link down" }
        // SPEC B35: while any registrar holding the binding answers, the path is healthy.
        let healthy = phone.registrars.isEmpty ? info.registrars.values.contains(true)
            : phone.registrars.contains { info.registrars[String($0)] == true }
        return healthy ? nil : "registrar unreachable"
    }

    /// A timer fired: a link silent for its heartbeat interval plus the link timeout is down.
    public mutating func timerFired(_ timer: ProxyTimer) -> [ProxyAction] {
        switch timer {
        case .linkSilent(let id):
            guard let link = links[id], link.up else { return [] }
            links[id]?.up = false
            let silence = (link.info?.heartbeatInterval ?? .zero) + configuration.linkTimeout
            if let core = link.info?.node { lostCores[core] = "no heartbeat for \(silence)" }
            return [.log(RoleEvent(.warning, "traversal link down: no heartbeat for \(silence)", metadata(link)))]
                + alarmBook.update(currentAlarms)
        case .link, .registrarKeepalive:
            return []
        }
    }

    /// The answer to this edge's own heartbeat on a link (sent after a setting change), or `nil`.
    public mutating func heartbeatAnswered(_ reply: SIPMessage?, to request: SIPMessage, on flow: Flow) -> [ProxyAction] {
        guard let reply, let info = TraversalInfo(reply) else { return [] }
        return note(info, on: flow)
    }

    /// The settings changed: every link hears at once (SPEC B24); alarms follow.
    public mutating func settingsChanged(_ new: ProxySettings) -> [ProxyAction] {
        settings = new
        return refreshLinks() + alarmBook.update(currentAlarms)
    }

    /// Sends this edge's information over every link now.
    public mutating func refreshLinks() -> [ProxyAction] {
        let info = ownInfo
        return links.values.sorted { $0.flow.connectionID < $1.flow.connectionID }.map { link in
            .sendHeartbeat(TraversalHeartbeat.request(from: info, on: link.flow, tokens: &responder.tokens), on: link.flow,
                           within: configuration.linkTimeout)
        }
    }

    /// A heartbeat heard on a link: it is up until silent for the core's interval plus the timeout.
    mutating func note(_ info: TraversalInfo, on flow: Flow) -> [ProxyAction] {
        let before = links[flow.connectionID]
        links[flow.connectionID, default: Link(flow: flow)].info = info
        links[flow.connectionID]?.up = true
        lostCores[info.node] = nil
        var actions: [ProxyAction] = [.startTimer(.linkSilent(flow.connectionID), after: info.heartbeatInterval + configuration.linkTimeout)]
        if before?.up != true { actions.append(.log(RoleEvent(.info, "traversal link up", metadata(links[flow.connectionID]!)))) }
        let changed = info.registrars.filter { name, up in before?.info?.registrars[name].map { $0 != up } ?? false }
        if !changed.isEmpty {
            // Only a registrar known before and now different is news; one heard of first is not.
            let words = changed.keys.sorted().map { "\($0) \(changed[$0]! ? "reachable" : "unreachable")" }.joined(separator: ", ")
            actions.append(.log(RoleEvent(.info, "the core reports \(words)", metadata(links[flow.connectionID]!))))
        }
        return actions + alarmBook.update(currentAlarms)
    }

    func isTraversal(_ flow: Flow) -> Bool {
        flow.transport == .tls && flow.local == configuration.traversalAddress
    }

    var ownInfo: TraversalInfo {
        TraversalInfo(node: configuration.name, keepaliveEnabled: settings.keepaliveEnabled, maintenance: settings.maintenance)
    }

    private func metadata(_ link: Link) -> [String: String] {
        var metadata = ["peer": link.info?.node ?? "?", "flow": String(link.flow.connectionID), "remote": link.flow.description]
        if let registrars = link.info?.registrars, !registrars.isEmpty {
            metadata["registrars"] = registrars.keys.sorted().map { "\($0)=\(registrars[$0]! ? "up" : "down")" }.joined(separator: ",")
        }
        return metadata
    }
}
