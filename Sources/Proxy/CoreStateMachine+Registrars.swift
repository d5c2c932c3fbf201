import NIOCore
import SIPStack
import SIPTransport
import STUNCore

/// The core's STUN keepalive on each registrar connection (SPEC B12) and the choice of a
/// registrar (SPEC B19).
extension CoreStateMachine {
    mutating func keepaliveTimerFired(_ name: String, now: NIODeadline) -> [ProxyAction] {
        guard var registrar = registrars[name] else { return [] }
        let steps = registrar.monitor.poll(now: now, newID: { responder.tokens.bytes(12) })
        registrars[name] = registrar
        var actions: [ProxyAction] = []
        for step in steps {
            switch step {
            case .sendProbe(let id):
                if let flow = registrar.flow {
                    actions.append(.sendSTUN(Self.probe(id), on: flow))
                } else {
                    registrars[name]?.unsent = id
                    if !registrar.connecting {
                        registrars[name]?.connecting = true
                        actions.append(.connect(.registrar(name)))
                    }
                }
            case .healthChanged(let health):
                actions += healthChanged(name, health, cause: "no answer to the keepalive within \(settings.keepaliveTimeout)")
            }
        }
        return actions + [nextKeepalive(name, now: now)]
    }

    mutating func registrarConnected(_ result: Result<Flow, SIPStackError>, name: String, now: NIODeadline) -> [ProxyAction] {
        guard registrars[name]?.connecting == true else { return [] }
        registrars[name]?.connecting = false
        switch result {
        case .success(let flow):
            registrars[name]?.flow = flow
            guard let id = registrars[name]?.unsent else { return [] }
            registrars[name]?.unsent = nil
            return [.sendSTUN(Self.probe(id), on: flow)]
        case .failure(let error):
            registrars[name]?.unsent = nil
            return registrarLost(name, cause: error.detail, now: now)
        }
    }

    mutating func registrarAnswered(_ bytes: ByteBuffer, flow: Flow, now: NIODeadline) -> [ProxyAction] {
        guard let name = registrars.first(where: { $0.value.flow?.connectionID == flow.connectionID && $0.value.flow?.transport == flow.transport })?.key,
              let message = try? STUNMessage.decode(Array(bytes.readableBytesView)), message.type == .bindingSuccess,
              let steps = registrars[name]?.monitor.received(transactionID: message.transactionID, now: now)
        else { return [] }
        let actions = steps.flatMap { step -> [ProxyAction] in
            guard case .healthChanged(let health) = step else { return [] }
            return healthChanged(name, health, cause: "the keepalive was answered")
        }
        return actions + [nextKeepalive(name, now: now)]
    }

    /// The connection to a registrar closed or could not be opened: unreachable at once.
    mutating func registrarLost(_ name: String, cause: String, now: NIODeadline) -> [ProxyAction] {
        registrars[name]?.flow = nil
        let steps = registrars[name]?.monitor.connectionLost(now: now) ?? []
        let actions = steps.flatMap { step -> [ProxyAction] in
            guard case .healthChanged(let health) = step else { return [] }
            return healthChanged(name, health, cause: cause)
        }
        return actions + [nextKeepalive(name, now: now)]
    }

    /// A registrar answered a REGISTER this core forwarded: path health must not contradict what
    /// the path just carried (a registrar restarted between keepalives is reachable at once, and
    /// the edges hear it before the answer).
    mutating func registrarAnswered(_ name: String, now: NIODeadline) -> [ProxyAction] {
        guard registrars[name]?.monitor.health != .up else { return [] }
        let steps = registrars[name]?.monitor.answeredOtherTraffic(now: now) ?? []
        let actions = steps.flatMap { step -> [ProxyAction] in
            guard case .healthChanged(let health) = step else { return [] }
            return healthChanged(name, health, cause: "a REGISTER was answered")
        }
        return actions + [nextKeepalive(name, now: now)]
    }

    /// Probes every registrar now (the next keepalive is sent at once).
    public mutating func probeRegistrars(now: NIODeadline) -> [ProxyAction] {
        registrars.keys.sorted().map { name in
            registrars[name]?.monitor.probeSoon(now: now)
            return .startTimer(.registrarKeepalive(name), after: .zero)
        }
    }

    private mutating func healthChanged(_ name: String, _ health: KeepaliveMonitor.Health, cause: String) -> [ProxyAction] {
        registrars[name]?.downCause = health == .down ? cause : nil
        let event = health == .up
            ? RoleEvent(.info, cause == "the keepalive was answered" ? "registrar reachable" : "registrar reachable: \(cause)", ["registrar": name])
            : RoleEvent(.warning, "registrar unreachable: \(cause)", ["registrar": name, "cause": cause])
        return [.log(event)] + refreshLinks() + alarmBook.update(currentAlarms)
    }

    private func nextKeepalive(_ name: String, now: NIODeadline) -> ProxyAction {
        let wake = registrars[name]?.monitor.nextWakeUp ?? now
        let nanoseconds = max(0, wake.uptimeNanoseconds > now.uptimeNanoseconds ? Int64(wake.uptimeNanoseconds - now.uptimeNanoseconds) : 0)
        return .startTimer(.registrarKeepalive(name), after: .nanoseconds(nanoseconds))
    }

    /// The open keepalive connection to the registrar at `host:port`, if any: in-dialog requests
    /// routed to a registrar reuse it.
    func registrarFlow(host: Substring, port: Int) -> Flow? {
        configuration.registrars.lazy.compactMap { target -> Flow? in
            guard target.address.port == port, target.address.ipAddress.map({ host == $0[...] }) ?? false else { return nil }
            return self.registrars[target.name]?.flow
        }.first
    }

    private static func probe(_ id: [UInt8]) -> ByteBuffer {
        ByteBuffer(bytes: STUNMessage(type: .bindingRequest, transactionID: id).encode())
    }

    /// The first registrar that answers its keepalives, else the first not known to be down,
    /// else — rather than refusing outright — the first at all; over its keepalive connection
    /// when it is open, else by its address (SPEC B19).
    func chooseRegistrar() -> (name: String, hop: NextHop)? {
        let health = { (name: String) in self.registrars[name]?.monitor.health ?? .unknown }
        let ordered = configuration.registrars.filter { health($0.name) == .up }
            + configuration.registrars.filter { health($0.name) == .unknown }
            + configuration.registrars.filter { health($0.name) == .down }
        guard let first = ordered.first else { return nil }
        if let flow = registrars[first.name]?.flow { return (first.name, .flow(flow)) }
        return (first.name, .peer(.registrar(first.name)))
    }
}
