import Location
import Logging
import NIOCore
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport

/// The registrar role (SPEC B7, B12): the owner of a ``RegistrarStateMachine`` on the stack's
/// event loop. It feeds the machine the stack's requests and transport events and performs its
/// actions: answers, store reads and writes, forwarding, STUN writes. Store calls that can wait
/// are the only hops (a task on the same loop), and their results come back as inputs.
public final class RegistrarService: Sendable {
    /// How the registrar behaves.
    public typealias Configuration = RegistrarStateMachine.Configuration

    private let stack: SIPStack
    private let loop: EventLoop
    private let executor: EventLoopTaskExecutor
    private let machine: NIOLoopBoundBox<RegistrarStateMachine>
    private let locations: any LocationStore
    /// `locations` when its calls never wait: they are then made inline, with no task.
    private let synchronousLocations: (any SynchronousLocationStore)?
    private let accounts: any AccountStore
    private let forwarder: ProxyForwarder
    private let clock: @Sendable () -> Int64
    private let logger: Logger

    /// The calls this registrar forwarded (`xstatus Calls`).
    public var calls: CallTable { forwarder.calls }

    /// Creates the registrar on a stack and attaches itself as the stack's request handler.
    ///
    /// - Parameters:
    ///   - authenticator: checks digest credentials; by default one for the configured domain.
    ///   - clock: milliseconds since 1970; injected so tests control time.
    ///   - tokens: where To-tags come from. Default `.system`.
    ///   - logger: registrations accepted (debug) and refused (info). Default label `edgeway.registrar`.
    public init(stack: SIPStack, locations: any LocationStore, accounts: any AccountStore, configuration: Configuration,
                authenticator: DigestAuthenticator? = nil, clock: @escaping @Sendable () -> Int64,
                tokens: TokenGenerator = .system, logger: Logger = Logger(label: "edgeway.registrar")) {
        self.stack = stack
        self.loop = stack.eventLoop
        self.executor = EventLoopTaskExecutor(stack.eventLoop)
        self.machine = .makeBoxSendingValue(
            RegistrarStateMachine(configuration: configuration, authenticator: authenticator, tokens: tokens), eventLoop: stack.eventLoop)
        self.locations = locations
        self.synchronousLocations = locations as? any SynchronousLocationStore
        self.accounts = accounts
        self.forwarder = ProxyForwarder(stack: stack)
        self.clock = clock
        self.logger = logger
        stack.setHandlers(onRequest: { [weak self] request in
            guard let self else { return }
            self.onLoop {
                let actions = self.machine.value.requestReceived(request.message, flow: request.flow, now: self.clock())
                self.perform(actions, for: request)
            }
        }, onTransportEvent: { [weak self] event in
            self?.handle(event)
        })
    }

    /// Runs `body` on the machine's loop: inline when already there, else handed over.
    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if loop.inEventLoop { body() } else { loop.execute(body) }
    }

    private func handle(_ event: SIPTransportEvent) {
        switch event {
        case .stun(let bytes, let flow):
            onLoop { self.perform(self.machine.value.stunReceived(bytes, flow: flow), for: nil) }
        case .flowClosed(let flow, _):
            onLoop { self.perform(self.machine.value.flowClosed(flow), for: nil) }
        case .sip, .ping, .pong, .malformed, .flowOpened:
            break
        }
    }

    /// Performs the machine's actions for `request` (`nil` for transport events). On the loop.
    private func perform(_ actions: [RegistrarStateMachine.Action], for request: SIPStack.IncomingRequest?) {
        for action in actions {
            switch action {
            case .respond(var response):
                guard let request else { continue }
                // A core that says who it is hears who this registrar is: only from the hop next to
                // it (one Via, Max-Forwards 0), never from a request a proxy forwarded.
                if ClusterPeers.isPeerOptions(request.message), request.message.maxForwards == 0,
                   (try? request.message.vias().count) == 1 {
                    stack.peers.record(request.message)
                    stack.peers.stamp(&response)
                }
                log(response, to: request)
                request.respond(response)
            case .cancelBranches(let branch):
                forwarder.cancelForwarded(upstreamBranch: branch)
            case .recordIntrusion(let category):
                if let request { stack.transport.record(category, on: request.flow) }
            case .lookUpAccount(let username, let realm, let pending):
                Task(executorPreference: executor) {
                    let result: Result<Account?, any Error>
                    do { result = .success(try await self.accounts.account(username: username, realm: realm)) } catch { result = .failure(error) }
                    self.onLoop {
                        let next = switch result {
                        case .success(let account): self.machine.value.accountLoaded(account, for: pending, now: self.clock())
                        case .failure(let error): self.machine.value.accountLookupFailed(error, for: pending)
                        }
                        self.perform(next, for: request)
                    }
                }
            case .updateBindings(let aor, let update, let pending):
                if let store = synchronousLocations {
                    let result = Result { try store.updateNow(aor: aor, update) }
                    perform(machine.value.bindingsUpdated(result, for: pending), for: request)
                    continue
                }
                Task(executorPreference: executor) { [locations] in
                    let result: Result<BindingDecision, any Error>
                    do { result = .success(try await locations.update(aor: aor, update)) } catch { result = .failure(error) }
                    self.onLoop { self.perform(self.machine.value.bindingsUpdated(result, for: pending), for: request) }
                }
            case .lookUpBindings(let aor, let pending):
                if let store = synchronousLocations {
                    // A read through the atomic update that changes nothing: no task where nothing waits.
                    let result = Result { try store.updateNow(aor: aor) { $0 } }
                    perform(machine.value.bindingsFound(result, for: pending), for: request)
                    continue
                }
                Task(executorPreference: executor) { [locations] in
                    let result: Result<[Binding], any Error>
                    do { result = .success(try await locations.bindings(for: aor)) } catch { result = .failure(error) }
                    self.onLoop { self.perform(self.machine.value.bindingsFound(result, for: pending), for: request) }
                }
            case .forward(let outgoing, .flow(let flow), let pending):
                forward(outgoing, on: flow, pending, for: request)
            case .forward(let outgoing, .address(let transport, let host, let port), let pending):
                // Off the machine's loop: a host name may need the resolver, which blocks.
                Task { [stack] in
                    do {
                        let address = try (try? SocketAddress(ipAddress: host, port: port)) ?? SocketAddress.makeAddressResolvingHost(host, port: port)
                        let flow = try await stack.transport.connect(transport, to: address, serverHostname: host)
                        self.onLoop { self.forward(outgoing, on: flow, pending, for: request) }
                    } catch {
                        let failure = error as? SIPStackError ?? SIPStackError(.unreachable, "\(transport) \(host):\(port): \(error)")
                        self.onLoop { self.perform(self.machine.value.forwardFailed(failure, for: pending), for: request) }
                    }
                }
            case .cancelForwarded(let ok, let unknown):
                guard let request else { continue }
                request.respond(forwarder.cancel(request.message) ? ok : unknown)
            case .sendSTUN(let bytes, let flow):
                _ = stack.transport.write(bytes, on: flow)
            }
        }
    }

    private func forward(_ outgoing: SIPMessage, on flow: Flow, _ pending: RegistrarStateMachine.PendingProxy,
                         for request: SIPStack.IncomingRequest?) {
        forwarder.forward(outgoing, on: flow, upstreamBranch: pending.upstreamBranch, upstream: request?.flow) { answer in
            self.onLoop { self.perform(self.machine.value.answerReceived(answer, for: pending), for: request) }
        }
    }

    /// Registrations accepted at debug, challenged at debug, refused at info with the reason.
    private func log(_ response: SIPMessage, to request: SIPStack.IncomingRequest) {
        guard request.message.requestLine?.method == "REGISTER", let status = response.statusLine?.statusCode else { return }
        let metadata: () -> Logger.Metadata = {
            ["call-id": "\(request.message.callID ?? "")", "flow": "\(request.flow)"]
        }
        switch status {
        case 200..<300:
            logger.debug("REGISTER accepted", metadata: metadata())
        case 401:
            logger.debug("REGISTER challenged", metadata: metadata())
        default:
            logger.info("REGISTER refused: \(status) \(response.statusLine?.reasonPhrase ?? "")", metadata: metadata())
        }
    }
}
