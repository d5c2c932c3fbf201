import Logging
import NIOCore
import SIPCore
import SIPStack
import SIPTransport
import Settings
import Synchronization

/// The thin owner of an edge's or a core's machine (STYLE 16): the machine lives on one event
/// loop, the stack's; requests and transport events read on other loops are handed to it there.
/// The owner feeds the machine and performs its actions — sends, forwards, timers on the loop,
/// connections, logs — and is the only code that does. Connecting is the one wait, and its
/// result comes back as an input.
final class ProxyRoleOwner<Machine: ProxyRoleMachine>: Sendable {
    /// How to reach a peer the machine asks to connect to: transport, address, TLS server name.
    typealias Directory = @Sendable (ConnectTarget) -> (SIPTransportKind, SocketAddress, String)?

    let stack: SIPStack
    let loop: EventLoop
    private let machine: NIOLoopBoundBox<Machine>
    private let timers: NIOLoopBoundBox<[ProxyTimer: Scheduled<Void>]>
    private let forwarder: ProxyForwarder
    private let logger: Logger
    /// Every alarm the machine raised and cleared (*Status > Alarms*).
    let alarmLedger = AlarmLedger()
    private let clock: @Sendable () -> NIODeadline
    private let directory: Directory
    /// Bumped by the settings observer on the writer's thread, so an input read on the loop
    /// after a change never runs with the old settings, even ahead of the hop that reports it.
    private let settingsVersion = Atomic<UInt64>(0)
    private let appliedVersion: NIOLoopBoundBox<UInt64>
    private let settings: Settings?
    /// Set by ``stop()``: later inputs (a connection that completes, a close event) are dropped.
    private let stopped: NIOLoopBoundBox<Bool>
    /// Callers waiting for a state of the machine (``wait(until:within:)``), checked after inputs.
    private let waiters: NIOLoopBoundBox<[(condition: @Sendable (Machine) -> Bool, promise: EventLoopPromise<Bool>)]>

    init(machine: Machine, stack: SIPStack, settings: Settings?, logger: Logger, clock: @escaping @Sendable () -> NIODeadline,
         directory: @escaping Directory = { _ in nil }) {
        self.settings = settings
        self.appliedVersion = .makeBoxSendingValue(0, as: UInt64.self, eventLoop: stack.eventLoop)
        self.stopped = .makeBoxSendingValue(false, as: Bool.self, eventLoop: stack.eventLoop)
        self.waiters = .makeBoxSendingValue([], as: [(condition: @Sendable (Machine) -> Bool, promise: EventLoopPromise<Bool>)].self,
                                            eventLoop: stack.eventLoop)
        self.stack = stack
        self.loop = stack.eventLoop
        self.machine = .makeBoxSendingValue(machine, as: Machine.self, eventLoop: stack.eventLoop)
        self.timers = .makeBoxSendingValue([:], as: [ProxyTimer: Scheduled<Void>].self, eventLoop: stack.eventLoop)
        self.forwarder = ProxyForwarder(stack: stack)
        self.logger = logger
        self.clock = clock
        self.directory = directory
    }

    /// Attaches the owner to the stack's requests and transport events.
    func attach() {
        stack.setHandlers(onRequest: { [weak self] request in
            self?.run(for: request) { machine, _ in machine.requestReceived(request.message, flow: request.flow) }
        }, onTransportEvent: { [weak self] event in
            self?.run { machine, now in machine.transportEvent(event, now: now) }
        })
    }

    /// Feeds one input on the machine's loop (at once when already there) and performs its actions.
    func run(for request: SIPStack.IncomingRequest? = nil, _ input: @escaping @Sendable (inout Machine, NIODeadline) -> [ProxyAction]) {
        guard loop.inEventLoop else {
            loop.execute { self.run(for: request, input) }
            return
        }
        guard !stopped.value else { return }
        let version = settingsVersion.load(ordering: .acquiring)
        if version != appliedVersion.value, let settings {
            appliedVersion.value = version
            let current = ProxySettings(settings)
            let actions = machine.value.settingsChanged(current)
            if !actions.isEmpty { perform(actions, for: nil) }
        }
        let actions = input(&machine.value, clock())
        if !actions.isEmpty { perform(actions, for: request) }
        if !waiters.value.isEmpty { wakeWaiters() }
    }

    /// Waits until `condition` holds for the machine, at most `limit`: `true` when it did.
    func wait(until condition: @escaping @Sendable (Machine) -> Bool, within limit: Duration) async -> Bool {
        let promise = loop.makePromise(of: Bool.self)
        loop.execute { [self] in
            guard !condition(machine.value) else { return promise.succeed(true) }
            waiters.value.append((condition, promise))
            let timeout = loop.scheduleTask(in: TimeAmount(limit)) { [self] in
                waiters.value.removeAll { $0.promise == promise }
                promise.succeed(false)
            }
            promise.futureResult.whenSuccess { _ in timeout.cancel() }
        }
        return (try? await promise.futureResult.get()) ?? false
    }

    private func wakeWaiters() {
        let machine = machine.value
        waiters.value.removeAll { waiter in
            guard waiter.condition(machine) else { return false }
            waiter.promise.succeed(true)
            return true
        }
    }

    /// Reads the machine on its loop, once any settings change made before the call is applied.
    func read<T: Sendable>(_ body: @escaping @Sendable (Machine) -> T) async -> T? {
        run { _, _ in [] }
        if loop.inEventLoop { return body(machine.value) }
        return try? await loop.submit { body(self.machine.value) }.get()
    }

    /// Reads the machine as ``read(_:)`` does, with the owner's clock's time of the call.
    func readNow<T: Sendable>(_ body: @escaping @Sendable (Machine, NIODeadline) -> T) async -> T? {
        let now = clock()
        return await read { body($0, now) }
    }

    /// The calls this role's forwarder carries.
    var calls: CallTable { forwarder.calls }

    /// Stops for good: detaches from the stack, tells the machine (a core closes its traversal
    /// links, so its edges learn at once), cancels every timer and drops every later input.
    func stop() async {
        stack.setHandlers(onRequest: { _ in }, onTransportEvent: { _ in })
        try? await loop.submit { [self] in
            guard !stopped.value else { return }
            stopped.value = true
            for action in machine.value.stop() {
                if case .close(let flow) = action { stack.transport.close(flow) }
            }
            timers.value.values.forEach { $0.cancel() }
            timers.value = [:]
            waiters.value.forEach { $0.promise.succeed(false) }
            waiters.value = []
        }.get()
    }

    // MARK: - Actions

    private func perform(_ actions: [ProxyAction], for request: SIPStack.IncomingRequest?) {
        for action in actions {
            switch action {
            case .respond(var response):
                // A core that says who it is over its traversal link (certificate-authenticated)
                // hears who this node is; the same header from anyone else is ignored.
                if let request, ClusterPeers.isPeerOptions(request.message), stack.transport.isPeerConnection(request.flow) {
                    stack.peers.record(request.message)
                    stack.peers.stamp(&response)
                }
                request?.respond(response)
            case .forward(let message, let hop, let relay):
                forward(message, to: hop, relay: relay, for: request)
            case .cancelForwarded(let ok, let unknown):
                guard let request else { continue }
                request.respond(forwarder.cancel(request.message) ? ok : unknown)
            case .sendSTUN(let bytes, let flow):
                stack.transport.write(bytes, on: flow)
            case .sendHeartbeat(let message, let flow, let within):
                heartbeat(message, on: flow, within: within)
            case .connect(let target):
                connect(target)
            case .close(let flow):
                stack.transport.close(flow)
            case .measureRoundTrip(let flow):
                stack.transport.roundTripTime(of: flow) { [self] rtt in
                    run { machine, _ in machine.roundTripMeasured(rtt, on: flow) }
                }
            case .startTimer(let timer, let delay):
                timers.value[timer]?.cancel()
                timers.value[timer] = loop.scheduleTask(in: TimeAmount(delay)) { [self] in
                    timers.value[timer] = nil
                    run { machine, now in machine.timerFired(timer, now: now) }
                }
            case .cancelTimer(let timer):
                timers.value.removeValue(forKey: timer)?.cancel()
            case .raiseAlarm(let alarm):
                alarmLedger.raise(alarm)
                logger.warning("alarm raised: \(alarm.description)", metadata: ["alarm": "\(alarm.id)"])
            case .clearAlarm(let alarm):
                alarmLedger.clear(alarm)
                logger.info("alarm cleared (it said: \(alarm.description))", metadata: ["alarm": "\(alarm.id)"])
            case .recordIntrusion(let category):
                if let request { stack.transport.record(category, on: request.flow) }
            case .log(let event):
                let metadata = event.metadata.mapValues { Logger.MetadataValue.string($0) }
                switch event.level {
                case .debug: logger.debug("\(event.message)", metadata: metadata)
                case .info: logger.info("\(event.message)", metadata: metadata)
                case .warning: logger.warning("\(event.message)", metadata: metadata)
                }
            }
        }
    }

    private func forward(_ message: SIPMessage, to hop: NextHop, relay: Relay, for request: SIPStack.IncomingRequest?) {
        let branch = request.flatMap { try? $0.message.topVia().branch }
        let upstream = request?.flow
        let onAnswer: @Sendable (ProxyForwarder.Answer) -> Void = { [self] answer in
            run(for: request) { machine, now in machine.answerReceived(answer, relay: relay, now: now) }
        }
        switch hop {
        case .flow(let flow):
            forwarder.forward(message, on: flow, upstreamBranch: branch, upstream: upstream, onAnswer: onAnswer)
        case .address(let transport, let host, let port):
            // An IP literal needs no resolver; a name is resolved off the machine's loop.
            let literal = try? SocketAddress(ipAddress: host, port: port)
            connectThenForward(message, transport: transport, serverName: host, onAnswer: onAnswer, branch: branch, upstream: upstream) {
                try literal ?? SocketAddress.makeAddressResolvingHost(host, port: port)
            }
        case .peer(let target):
            guard let (transport, address, serverName) = directory(target) else {
                return onAnswer(.failed(SIPStackError(.unreachable, "no address for \(target)")))
            }
            connectThenForward(message, transport: transport, serverName: serverName, onAnswer: onAnswer, branch: branch, upstream: upstream) { address }
        }
    }

    /// Connects (or reuses the open connection) in a task — the one wait — then forwards.
    private func connectThenForward(_ message: SIPMessage, transport: SIPTransportKind, serverName: String,
                                    onAnswer: @escaping @Sendable (ProxyForwarder.Answer) -> Void, branch: Substring?, upstream: Flow?,
                                    address: @escaping @Sendable () throws -> SocketAddress) {
        Task { [self] in
            do {
                let remote = try address()
                let flow = try await stack.transport.connect(transport, to: remote, serverHostname: serverName)
                forwarder.forward(message, on: flow, upstreamBranch: branch, upstream: upstream, onAnswer: onAnswer)
            } catch {
                if message.requestLine?.method != "ACK" {
                    onAnswer(.failed(SIPStackError(.unreachable, "cannot reach \(serverName) over \(transport): \(error)")))
                }
            }
        }
    }

    private func heartbeat(_ message: SIPMessage, on flow: Flow, within: Duration) {
        var told = message
        stack.peers.stamp(&told)
        let answer = stack.sendFuture(request: told, on: flow)
        let deadline = loop.makePromise(of: SIPMessage?.self)
        let timer = loop.scheduleTask(in: TimeAmount(within)) { deadline.succeed(nil) }
        answer.whenComplete { [peers = stack.peers] result in
            timer.cancel()
            if let reply = try? result.get() { peers.record(reply) }
            deadline.succeed(try? result.get())
        }
        deadline.futureResult.whenSuccess { [self] reply in
            run { machine, _ in machine.heartbeatAnswered(reply, to: message, on: flow) }
        }
    }

    private func connect(_ target: ConnectTarget) {
        guard let (transport, address, serverName) = directory(target) else {
            // After the actions being performed, as any other input.
            return loop.execute { [self] in
                run { machine, now in machine.connected(.failure(SIPStackError(.unreachable, "no address for \(target)")), to: target, now: now) }
            }
        }
        Task(executorPreference: EventLoopTaskExecutor(loop)) { [self] in
            let result: Result<Flow, SIPStackError>
            do {
                result = .success(try await stack.transport.connect(transport, to: address, serverHostname: serverName))
            } catch {
                result = .failure(SIPStackError(.unreachable, "\(error)"))
            }
            loop.execute { [self] in
                // A connection that completes after the stop is not wanted any more.
                if stopped.value, case .success(let flow) = result { return stack.transport.close(flow) }
                run { machine, now in machine.connected(result, to: target, now: now) }
            }
        }
    }
}

extension ProxyRoleOwner {
    /// Hands every settings change to the machine as a new ``ProxySettings`` value, before any
    /// input that follows it.
    func observe(_ settings: Settings) -> Settings.Observation {
        settings.observe { [weak self] _ in
            guard let self else { return }
            settingsVersion.add(1, ordering: .releasing)
            run { _, _ in [] }
        }
    }
}
