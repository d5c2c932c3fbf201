import NIOCore
import SIPTransport
import STUNCore

/// The core's STUN keepalive on each registrar connection (SPEC B12) and the choice of a
/// registrar (SPEC B19).
extension CoreService {
    /// Runs the keepalive towards one registrar until the core stops.
    func keepRegistrar(_ registrar: RegistrarTarget) async {
        while !Task.isCancelled {
            let now = clock()
            let actions = state.withLockedValue { state in
                state.registrars[registrar.name]?.monitor.poll(now: now) { STUNMessage.bindingRequest().transactionID } ?? []
            }
            for action in actions {
                switch action {
                case .sendProbe(let id):
                    await probe(registrar, transactionID: id)
                case .healthChanged:
                    tellLinks()
                }
            }
            let wake = state.withLockedValue { $0.registrars[registrar.name]?.monitor.nextWakeUp } ?? now + 1_000
            try? await Task.sleep(for: .milliseconds(min(1_000, max(1, wake - clock()))))
        }
    }

    /// Probes every registrar at once (the next keepalive is sent now).
    public func probeRegistrars() {
        let now = clock()
        state.withLockedValue { state in
            for name in state.registrars.keys { state.registrars[name]?.monitor.probeSoon(now: now) }
        }
    }

    private func probe(_ registrar: RegistrarTarget, transactionID: [UInt8]) async {
        var flow = state.withLockedValue { $0.registrars[registrar.name]?.flow }
        if flow == nil {
            flow = try? await stack.transport.connect(registrar.transport, to: registrar.address, serverHostname: "localhost")
            state.withLockedValue { $0.registrars[registrar.name]?.flow = flow }
        }
        let request = STUNMessage(type: .bindingRequest, transactionID: transactionID)
        guard let flow, stack.transport.write(ByteBuffer(bytes: request.encode()), on: flow) else {
            registrarLost(registrar.name)
            return
        }
    }

    private func registrarLost(_ name: String) {
        let now = clock()
        let actions = state.withLockedValue { state -> [KeepaliveMonitor.Action] in
            state.registrars[name]?.flow = nil
            return state.registrars[name]?.monitor.connectionLost(now: now) ?? []
        }
        if !actions.isEmpty { tellLinks() }
    }

    /// STUN answers from registrars, and closed flows of links and registrars.
    func handle(_ event: SIPTransportEvent) {
        switch event {
        case .stun(let bytes, let flow):
            guard let message = try? STUNMessage.decode(Array(bytes.readableBytesView)), message.type == .bindingSuccess else { return }
            let now = clock()
            let changed = state.withLockedValue { state -> Bool in
                guard let name = state.registrars.first(where: { $0.value.flow?.connectionID == flow.connectionID })?.key else { return false }
                return !(state.registrars[name]?.monitor.received(transactionID: message.transactionID, now: now) ?? []).isEmpty
            }
            if changed { tellLinks() }
        case .flowClosed(let flow, _):
            let (registrar, linkClosed) = state.withLockedValue { state -> (String?, Bool) in
                for (index, link) in state.links where link.flow?.connectionID == flow.connectionID {
                    state.links[index]?.flow = nil
                    state.links[index]?.up = false
                    return (nil, true)
                }
                return (state.registrars.first { $0.value.flow?.connectionID == flow.connectionID }?.key, false)
            }
            if let registrar { registrarLost(registrar) }
            _ = linkClosed
        case .sip, .malformed, .ping, .pong, .flowOpened:
            break
        }
    }

    /// The first registrar that answers its keepalives, else the first not known to be down,
    /// else — rather than refusing outright — the first that can be reached at all; with the
    /// flow to reach it (its keepalive connection).
    func chooseRegistrar() async -> (name: String, flow: Flow)? {
        let healths = state.withLockedValue { state in state.registrars.mapValues { $0.monitor.health } }
        let ordered = configuration.registrars.filter { healths[$0.name] == .up }
            + configuration.registrars.filter { healths[$0.name] == .unknown }
            + configuration.registrars.filter { healths[$0.name] == .down }
        for registrar in ordered {
            if let flow = state.withLockedValue({ $0.registrars[registrar.name]?.flow }) { return (registrar.name, flow) }
            if let flow = try? await stack.transport.connect(registrar.transport, to: registrar.address, serverHostname: "localhost") {
                state.withLockedValue { $0.registrars[registrar.name]?.flow = flow }
                return (registrar.name, flow)
            }
        }
        return nil
    }
}
