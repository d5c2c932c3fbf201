import Logging
import NIOConcurrencyHelpers
import NIOCore
import SIPCore
import SIPTransaction
import SIPTransport
import Synchronization

/// The only place where transport events meet transaction machines and timers (ARCHITECTURE L3).
///
/// Each message is handled on the event loop that read it, and a transaction's timers run on the
/// loop of the message that started them, so a request is answered without a thread hop; the
/// transaction table is shared under a lock and every input to a machine is one step under it.
///
/// Requests that start a server transaction go to the transaction user with a way to answer;
/// responses to requests this node sent complete their client transaction. Malformed requests
/// get a stateless answer with the parser's reason; everything else (STUN, keepalives, flow
/// changes) goes to the `onTransportEvent` hook so roles can act on it.
public final class SIPStack: Sendable {
    /// Handles a new server transaction's request; calls `respond` with its answers.
    public typealias RequestHandler = @Sendable (IncomingRequest) -> Void

    /// A request that opened a server transaction.
    public struct IncomingRequest: Sendable {
        /// The request.
        public let message: SIPMessage
        /// The flow it arrived on.
        public let flow: Flow
        /// The event loop that read it; run the work it causes there (``EventLoopTaskExecutor``).
        public let eventLoop: EventLoop
        let key: ServerTransactionKey
        let stack: SIPStack

        /// Sends a response through the transaction (RFC 3261 §17.2).
        public func respond(_ response: SIPMessage) {
            stack.respond(response, key: key)
        }
    }

    let loop: EventLoop
    /// The logger of the node this stack serves (metadata `node`); transactions add `call-id` and `branch`.
    public let logger: Logger
    private let timers: SIPTimerConfiguration
    private let validation: SIPMessage.ValidationOptions
    let state = NIOLockedValueBox(State())
    private let handlers = NIOLockedValueBox(Handlers())
    /// Set by ``drain(within:)``: new requests get 503.
    let draining = Atomic<Bool>(false)
    /// The transport layer this stack sends through.
    public let transport: SIPTransportLayer
    /// The cluster's nodes this node has heard of, for diagnostic logging across the cluster.
    public let peers = ClusterPeers()

    private struct Handlers {
        var onRequest: RequestHandler = { _ in }
        var onTransportEvent: @Sendable (SIPTransportEvent) -> Void = { _ in }
    }

    /// A transaction of either kind, as the stack keeps it.
    enum Machine<Invite: Sendable, NonInvite: Sendable>: Sendable {
        case invite(Invite)
        case nonInvite(NonInvite)

        /// Runs the input on whichever machine this is and keeps its new state.
        mutating func run(_ invite: (inout Invite) -> [SIPTransactionAction],
                          _ nonInvite: (inout NonInvite) -> [SIPTransactionAction]) -> [SIPTransactionAction] {
            switch self {
            case .invite(var machine):
                defer { self = .invite(machine) }
                return invite(&machine)
            case .nonInvite(var machine):
                defer { self = .nonInvite(machine) }
                return nonInvite(&machine)
            }
        }
    }

    typealias ServerMachine = Machine<InviteServerTransaction, NonInviteServerTransaction>
    typealias ClientMachine = Machine<InviteClientTransaction, NonInviteClientTransaction>

    struct ServerEntry: Sendable {
        var machine: ServerMachine
        var flow: Flow
        var scheduled: [SIPTransactionTimer: Scheduled<Void>] = [:]
        /// The TU sent a final response (a 2xx to an INVITE: and its ACK came): only
        /// retransmission timers are left, so a drain need not wait.
        var answered = false
        /// An INVITE answered 2xx: the Call-ID and CSeq number its ACK carries.
        var ackKey: String?
    }

    struct ClientEntry: Sendable {
        var machine: ClientMachine
        var flow: Flow
        /// The request, for the log's `call-id` and `branch`.
        var request: SIPMessage
        var promise: EventLoopPromise<SIPMessage>
        var onProvisional: @Sendable (SIPMessage) -> Void
        var scheduled: [SIPTransactionTimer: Scheduled<Void>] = [:]
        /// Why the transport failed, when it did: the connection closed or a write failed.
        var failure: SIPStackError?
        /// The final response arrived: only Timer K or D is left (a drain need not wait).
        var answered = false
    }

    struct State: Sendable {
        var servers: [ServerTransactionKey: ServerEntry] = [:]
        var clients: [ClientTransactionKey: ClientEntry] = [:]
        /// Waiting for every transaction to have its final response (a drain).
        var idleWaiters: [EventLoopPromise<Void>] = []
        /// INVITEs answered 2xx whose ACK has not come, by ``ackKey(_:)``.
        var awaitingACK: [String: ServerTransactionKey] = [:]

        /// Server transactions whose TU has not answered, and client ones without a final response.
        var owing: Int {
            servers.values.lazy.filter { !$0.answered }.count + clients.values.lazy.filter { !$0.answered }.count
        }
    }

    /// Creates a stack on its own transport layer.
    public init(group: EventLoopGroup, transportConfiguration: SIPTransportLayer.Configuration = .init(),
                timers: SIPTimerConfiguration = .init(), validation: SIPMessage.ValidationOptions = .init(),
                logger: Logger = Logger(label: "edgeway.sip")) {
        self.loop = group.next()
        self.logger = logger
        self.timers = timers
        self.validation = validation
        let sink = EventSink()
        self.transport = SIPTransportLayer(group: group, configuration: transportConfiguration, logger: logger, onEvent: sink.forward)
        sink.attach(self)
    }

    /// Hands transport events to the stack on the thread that read them; holds the stack weakly.
    private final class EventSink: Sendable {
        private let stack = NIOLockedValueBox<WeakStack>(WeakStack())

        private struct WeakStack {
            weak var value: SIPStack?
        }

        func attach(_ stack: SIPStack) {
            self.stack.withLockedValue { $0.value = stack }
        }

        @Sendable func forward(_ event: SIPTransportEvent) {
            stack.withLockedValue { $0.value }?.handle(event)
        }
    }

    /// Sets what happens to new requests and to transport events the stack does not consume.
    public func setHandlers(onRequest: @escaping RequestHandler,
                            onTransportEvent: @escaping @Sendable (SIPTransportEvent) -> Void = { _ in }) {
        handlers.withLockedValue { $0 = Handlers(onRequest: onRequest, onTransportEvent: onTransportEvent) }
    }

    /// The stack's own event loop, for work that belongs to no message (a role's periodic tasks).
    public var eventLoop: EventLoop { loop }

    /// Sends a request on a flow through a client transaction and returns its final response.
    ///
    /// - Throws: ``SIPStackError`` — `.timeout` (Timer B or F fired: 408), `.transportFailed` or
    ///   `.connectionClosed` (503, RFC 3261 §8.1.3.1), or `.invalidRequest` (500: no Via branch
    ///   or method); ``SIPStackError/impliedStatus`` gives the status.
    public func send(request: SIPMessage, on flow: Flow,
                     onProvisional: @escaping @Sendable (SIPMessage) -> Void = { _ in }) async throws -> SIPMessage {
        try await sendFuture(request: request, on: flow, onProvisional: onProvisional).get()
    }

    /// ``send(request:on:onProvisional:)`` as a future, completed on an event loop without
    /// involving Swift's shared executor.
    public func sendFuture(request: SIPMessage, on flow: Flow,
                           onProvisional: @escaping @Sendable (SIPMessage) -> Void = { _ in }) -> EventLoopFuture<SIPMessage> {
        guard let key = ClientTransactionKey(branch: (try? request.topVia())?.branch, method: request.requestLine?.method)
        else { return currentLoop.makeFailedFuture(SIPStackError(.invalidRequest, "a request needs a Via with a branch and a method")) }
        let promise = currentLoop.makePromise(of: SIPMessage.self)
        let reliability: SIPTransportReliability = flow.transport.isReliable ? .reliable : .unreliable
        let machine: ClientMachine
        let actions: [SIPTransactionAction]
        if request.requestLine?.method == "INVITE" {
            var invite = InviteClientTransaction(request: request, reliability: reliability, timers: timers)
            actions = invite.start()
            machine = .invite(invite)
        } else {
            var nonInvite = NonInviteClientTransaction(request: request, reliability: reliability, timers: timers)
            actions = nonInvite.start()
            machine = .nonInvite(nonInvite)
        }
        state.withLockedValue {
            $0.clients[key] = ClientEntry(machine: machine, flow: flow, request: request, promise: promise, onProvisional: onProvisional)
        }
        perform(actions, client: key)
        return promise.futureResult
    }

    /// Sends a message outside any transaction (an ACK for a 2xx, a stateless response); messages
    /// on one flow leave in the order of the calls.
    public func sendStateless(_ message: SIPMessage, on flow: Flow) {
        transport.write(message.serialized(), on: flow)
    }

    // MARK: - Inbound

    private func handle(_ event: SIPTransportEvent) {
        switch event {
        case .sip(let message, let flow):
            if message.isRequest { receive(request: message, flow: flow) } else { receive(response: message) }
        case .flowClosed(let flow, _):
            failClientTransactions(on: flow)
            handlers.withLockedValue { $0.onTransportEvent }(event)
        case .malformed, .stun, .ping, .pong, .flowOpened:
            handlers.withLockedValue { $0.onTransportEvent }(event)
        }
    }

    private func receive(request received: SIPMessage, flow: Flow) {
        // RFC 3261 §18.2.1, RFC 3581 §4: note the real source in the top Via.
        var request = received
        do {
            _ = try request.validateKeepingViews(validation)
        } catch {
            // RFC 3261 §8.2 / §16.3: a stateless answer with the parser's reason; never to an ACK.
            transport.record(.sipMalformed, on: flow)
            guard let status = error.status, request.requestLine?.method != "ACK" else { return }
            request.stampReceived(host: flow.remoteHost, port: flow.remotePort)
            let answer = SIPResponseBuilder.response(to: request, statusCode: status,
                                                     reasonPhrase: "\(error.reasonPhrase) (\(error.detail))")
            sendStateless(answer, on: flow)
            return
        }
        let topVia = request.stampReceived(host: flow.remoteHost, port: flow.remotePort)
        guard let key = ServerTransactionKey(request, topVia: topVia) else {
            // RFC 2543 clients (no magic cookie) are not served statefully here.
            if request.requestLine?.method != "ACK" {
                sendStateless(SIPResponseBuilder.response(to: request, statusCode: 400,
                                                          reasonPhrase: "Bad Request (Via branch must start with z9hG4bK)"), on: flow)
            }
            return
        }
        let receive = { (entry: inout ServerEntry) in entry.machine.run({ $0.receive(request: request) }, { $0.receive(request: request) }) }
        if let actions = runServer(key, receive) {
            perform(actions, server: key)
            return
        }
        guard request.requestLine?.method != "ACK" else {
            // An ACK for a 2xx is end to end: the TU gets it; its INVITE owes nothing more.
            acknowledged(request)
            handlers.withLockedValue { $0.onRequest }(IncomingRequest(message: request, flow: flow, eventLoop: currentLoop, key: key, stack: self))
            return
        }
        let reliability: SIPTransportReliability = flow.transport.isReliable ? .reliable : .unreliable
        var actions: [SIPTransactionAction]
        let machine: ServerMachine
        if request.requestLine?.method == "INVITE" {
            var invite = InviteServerTransaction(reliability: reliability, timers: timers)
            actions = invite.receive(request: request)
            machine = .invite(invite)
        } else {
            var nonInvite = NonInviteServerTransaction(reliability: reliability, timers: timers)
            actions = nonInvite.receive(request: request)
            machine = .nonInvite(nonInvite)
        }
        let retransmission = state.withLockedValue { state -> [SIPTransactionAction]? in
            // A copy read at the same moment on another thread opened it first: it is a retransmission.
            guard state.servers[key] != nil else {
                state.servers[key] = ServerEntry(machine: machine, flow: flow)
                return nil
            }
            return receive(&state.servers[key]!)
        }
        if retransmission == nil, draining.load(ordering: .relaxed), Self.opensNewWork(request) {
            // Draining: new registrations and dialogs are refused through their own transaction
            // (so its ACK is absorbed), with Retry-After, while dialogs, heartbeats and
            // everything in progress go on (RFC 3261 §21.5.4, SPEC B2).
            perform(actions.filter { if case .deliver = $0 { false } else { true } }, server: key)
            var refusal = SIPResponseBuilder.response(to: request, statusCode: 503, reasonPhrase: "Service Unavailable (shutting down)",
                                                      toTag: "d\(RandomTokens.next())")
            refusal.headers.append(.init("Retry-After"), "5")
            respond(refusal, key: key)
            return
        }
        perform(retransmission ?? actions, server: key)
    }

    /// A REGISTER, or a request that opens a dialog (no To tag): what a draining node refuses.
    private static func opensNewWork(_ request: SIPMessage) -> Bool {
        switch request.requestLine?.method {
        case "REGISTER": true
        case "INVITE", "SUBSCRIBE", "REFER": (try? request.to())?.parameters["tag"] == nil
        default: false
        }
    }

    private func receive(response: SIPMessage) {
        // RFC 3261 §18.1.2: a stray response is dropped.
        guard let key = ClientTransactionKey(response),
              let actions = runClient(key, { $0.machine.run({ $0.receive(response: response) }, { $0.receive(response: response) }) })
        else { return }
        perform(actions, client: key)
    }

    /// RFC 3261 §17.1.4: a connection that closes under client transactions is a transport
    /// error for each of them, fed to its machine at once rather than left to Timer B or F.
    private func failClientTransactions(on flow: Flow) {
        guard flow.transport.isReliable else { return }
        let keys = state.withLockedValue { state in
            state.clients.filter { $0.value.flow.connectionID == flow.connectionID }.map(\.key)
        }
        let failure = SIPStackError(.connectionClosed, "the connection to \(flow.remote) closed")
        for key in keys {
            let actions = runClient(key) { entry in
                entry.failure = failure
                return entry.machine.run({ $0.transportFailed() }, { $0.transportFailed() })
            }
            if let actions { perform(actions, client: key) }
        }
    }

    // MARK: - Responses from the TU

    fileprivate func respond(_ response: SIPMessage, key: ServerTransactionKey) {
        let status = response.statusLine?.statusCode ?? 0
        // A 2xx to an INVITE is done for a drain once its ACK arrives (or Timer L ends it).
        let ackKey = (200..<300).contains(status) && key.method == "INVITE" ? Self.ackKey(response) : nil
        let final = status >= 200 && ackKey == nil
        guard let actions = runServer(key, { entry in
            if final { entry.answered = true }
            if let ackKey { entry.ackKey = ackKey }
            return entry.machine.run({ $0.send(response: response) }, { $0.send(response: response) })
        }) else { return }
        if let ackKey { state.withLockedValue { $0.awaitingACK[ackKey] = key } }
        perform(actions, server: key)
        if final { noteRemoved() }
    }

    /// The ACK of a 2xx marks its INVITE's transaction answered (RFC 3261 §13.3.1.4: same
    /// Call-ID and CSeq number).
    private func acknowledged(_ ack: SIPMessage) {
        guard let ackKey = Self.ackKey(ack) else { return }
        let found = state.withLockedValue { state -> Bool in
            guard let key = state.awaitingACK.removeValue(forKey: ackKey) else { return false }
            state.servers[key]?.answered = true
            return true
        }
        if found { noteRemoved() }
    }

    private static func ackKey(_ message: SIPMessage) -> String? {
        guard let callID = message.headers[.callID], let cseq = try? message.cseq() else { return nil }
        return "\(callID) \(cseq.sequence)"
    }

    /// Runs one input on a server transaction and keeps its new state, in one step under the
    /// lock, so inputs from different threads (a flow's loop, a timer, the TU) never interleave.
    private func runServer(_ key: ServerTransactionKey,
                           _ input: (inout ServerEntry) -> [SIPTransactionAction]) -> [SIPTransactionAction]? {
        state.withLockedValue { state in
            guard state.servers[key] != nil else { return nil }
            return input(&state.servers[key]!)
        }
    }

    /// Runs one input on a client transaction and keeps its new state, in one step under the lock.
    private func runClient(_ key: ClientTransactionKey,
                           _ input: (inout ClientEntry) -> [SIPTransactionAction]) -> [SIPTransactionAction]? {
        state.withLockedValue { state in
            guard state.clients[key] != nil else { return nil }
            return input(&state.clients[key]!)
        }
    }

    /// The event loop of the calling thread, or the stack's own when called from a thread that is
    /// not a loop (a Swift task, a test): timers run where their transaction's messages are read.
    private var currentLoop: EventLoop {
        SIPTransportLayer.currentEventLoop ?? loop
    }

    // MARK: - Actions

    private func perform(_ actions: [SIPTransactionAction], server key: ServerTransactionKey) {
        guard let flow = state.withLockedValue({ $0.servers[key]?.flow }) else { return }
        for action in actions {
            switch action {
            case .send(let message):
                // RFC 3261 §17.2.4: a response the transport cannot send fails the transaction.
                if !transport.write(message.serialized(), on: flow), flow.transport.isReliable,
                   let failed = runServer(key, { $0.machine.run({ $0.transportFailed() }, { $0.transportFailed() }) }) {
                    logger.debug("response not sent: the connection closed", metadata: ["flow": "\(flow.connectionID)"])
                    perform(failed, server: key)
                    return
                }
            case .startTimer(let timer, let after):
                let task = currentLoop.scheduleTask(in: .nanoseconds(after.nanoseconds)) { [self] in serverTimerFired(timer, key: key) }
                state.withLockedValue { $0.servers[key]?.scheduled[timer] = task }
            case .cancelTimer(let timer):
                state.withLockedValue { $0.servers[key]?.scheduled.removeValue(forKey: timer) }?.cancel()
            case .deliver(let message):
                let incoming = IncomingRequest(message: message, flow: flow, eventLoop: currentLoop, key: key, stack: self)
                handlers.withLockedValue { $0.onRequest }(incoming)
            case .reportTimeout, .reportTransportError:
                // The TU learns nothing more: its answer could not be delivered (RFC 3261 §17.2.4).
                break
            case .terminate:
                let entry = state.withLockedValue { state -> ServerEntry? in
                    let entry = state.servers.removeValue(forKey: key)
                    if let ackKey = entry?.ackKey { state.awaitingACK[ackKey] = nil }
                    return entry
                }
                entry?.scheduled.values.forEach { $0.cancel() }
                noteRemoved()
            }
        }
    }

    private func perform(_ actions: [SIPTransactionAction], client key: ClientTransactionKey) {
        guard let entry = state.withLockedValue({ $0.clients[key] }) else { return }
        for action in actions {
            switch action {
            case .send(let message):
                // A connection that is already gone fails the transaction now, not at Timer B or F.
                if !transport.write(message.serialized(), on: entry.flow), entry.flow.transport.isReliable {
                    let failed = runClient(key) { entry in
                        entry.failure = SIPStackError(.transportFailed, "the connection to \(entry.flow.remote) is closed")
                        return entry.machine.run({ $0.transportFailed() }, { $0.transportFailed() })
                    }
                    if let failed { perform(failed, client: key) }
                    return
                }
            case .startTimer(let timer, let after):
                let task = currentLoop.scheduleTask(in: .nanoseconds(after.nanoseconds)) { [self] in clientTimerFired(timer, key: key) }
                state.withLockedValue { $0.clients[key]?.scheduled[timer] = task }
            case .cancelTimer(let timer):
                state.withLockedValue { $0.clients[key]?.scheduled.removeValue(forKey: timer) }?.cancel()
            case .deliver(let response):
                if let status = response.statusLine?.statusCode, status < 200 {
                    entry.onProvisional(response)
                } else {
                    state.withLockedValue { $0.clients[key]?.answered = true }
                    entry.promise.succeed(response)
                    noteRemoved()
                }
            case .reportTimeout:
                logger.debug("client transaction timed out", metadata: Self.metadata(entry.request, entry.flow))
                entry.promise.fail(SIPStackError(.timeout, "no final response from \(entry.flow.remote)"))
            case .reportTransportError:
                let failure = state.withLockedValue { $0.clients[key]?.failure }
                    ?? SIPStackError(.transportFailed, "the transport to \(entry.flow.remote) failed")
                logger.debug("client transaction failed", metadata: Self.metadata(entry.request, entry.flow)
                    .merging(["error": "\(failure)"]) { $1 })
                entry.promise.fail(failure)
            case .terminate:
                let removed = state.withLockedValue { $0.clients.removeValue(forKey: key) }
                removed?.scheduled.values.forEach { $0.cancel() }
                noteRemoved()
            }
        }
    }

    private static func metadata(_ request: SIPMessage, _ flow: Flow) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["flow": "\(flow.connectionID)"]
        if let callID = request.headers[.callID] { metadata["call-id"] = "\(callID)" }
        if let branch = try? request.topVia().branch { metadata["branch"] = "\(branch)" }
        return metadata
    }

    private func serverTimerFired(_ timer: SIPTransactionTimer, key: ServerTransactionKey) {
        let actions = runServer(key) { entry in
            entry.scheduled[timer] = nil
            return entry.machine.run({ $0.timerFired(timer) }, { $0.timerFired(timer) })
        }
        if let actions { perform(actions, server: key) }
    }

    private func clientTimerFired(_ timer: SIPTransactionTimer, key: ClientTransactionKey) {
        let actions = runClient(key) { entry in
            entry.scheduled[timer] = nil
            return entry.machine.run({ $0.timerFired(timer) }, { $0.timerFired(timer) })
        }
        if let actions { perform(actions, client: key) }
    }
}

extension Duration {
    /// The duration in whole nanoseconds.
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
