import Foundation
import NIOConcurrencyHelpers
import NIOCore
import PhoneLogic
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import STUNCore

/// A soft phone (SPEC B3, B8, B9, B14–B17, B20): registers over TLS through an edge with the
/// AR_SK offer, keeps the registered connection alive with STUN (or CRLF) keepalives, fails over
/// to the next edge when the path dies — never in the middle of a call — and places and answers
/// calls. Its events arrive on ``events``; there is no global state.
public final class SoftPhone: Sendable {
    /// Who the phone is and where it registers.
    public struct Configuration: Sendable {
        /// The user part of the address of record, and its password.
        public var user: String
        public var password: String
        /// The SIP domain (digest realm).
        public var domain: String
        /// The edges to try, `host:port`, in order.
        public var edges: [String]
        /// The CA that signs the edges' certificates (PEM); `nil` trusts the system roots.
        public var trustedCAPEM: String?
        /// The device name sent in the Contact (`+u.sip!devicename.ccm.cisco.com`).
        public var deviceName: String
        /// The instance id (`+sip.instance`), kept across failovers and restarts.
        public var instance: String
        /// Timers (keepalive 30 s / 3 s by default).
        public var timers: RegistrationMachine.Configuration

        /// Creates a configuration with a fresh instance id and the SPEC's timers.
        public init(user: String, password: String, domain: String, edges: [String], trustedCAPEM: String? = nil,
                    deviceName: String? = nil, instance: String = "urn:uuid:\(UUID().uuidString.lowercased())",
                    timers: RegistrationMachine.Configuration = .init()) {
            self.user = user
            self.password = password
            self.domain = domain
            self.edges = edges
            self.trustedCAPEM = trustedCAPEM
            self.deviceName = deviceName ?? "CSF\(user.uppercased())"
            self.instance = instance
            self.timers = timers
        }
    }

    /// What the phone reports.
    public enum Event: Sendable, Equatable {
        /// A step of the registration machine (registered, keepalive answered, edge failed, …).
        case registration(RegistrationMachine.Event)
        /// A call changed state.
        case call(id: String, CallState)
        /// A REGISTER left for this edge (for timelines and tests).
        case registerSent(edge: String, cseq: Int)
        /// The edge answered a CRLF keepalive ping with a pong (RFC 5626 §3.5.1).
        case pong
        /// A STUN keepalive left on the registered connection (RFC 5626 §4.4.1).
        case keepaliveSent(edge: String)
    }

    /// The state of a call.
    public enum CallState: Sendable, Equatable {
        case ringing, incoming(from: String), established, ended(reason: String)
    }

    /// The phone's events, in order.
    public let events: AsyncStream<Event>
    let configuration: Configuration
    let stack: SIPStack
    let state: NIOLockedValueBox<PhoneState>
    let continuation: AsyncStream<Event>.Continuation
    let clock: @Sendable () -> Int64

    struct PhoneState {
        var machine: RegistrationMachine
        var flows: [String: Flow] = [:]
        var timer: Scheduled<Void>?
        var calls: [String: CallRecord] = [:]
        /// The calls' dialogs (RFC 3261 §12): which call a request belongs to.
        var dialogs = PhoneDialogs()
        var stopped = false
        /// The registrar's last challenge this phone can answer (RFC 8760 §2.4), for the
        /// machine's next REGISTER; and how often each nonce was used (the digest `nc`).
        var challenge: DigestChallenge?
        var nonceUses: [String: Int] = [:]
    }

    /// Creates a phone on an event loop group; ``start()`` registers it.
    public init(configuration: Configuration, group: EventLoopGroup) throws {
        self.configuration = configuration
        let tls = try SIPTLS.clientContext(trustedCAPEM: configuration.trustedCAPEM)
        stack = SIPStack(group: group, transportConfiguration: .init(idleTimeout: .hours(24), tlsClient: tls))
        state = NIOLockedValueBox(PhoneState(machine: RegistrationMachine(
            callID: "reg-\(UUID().uuidString.lowercased())", candidates: configuration.edges, configuration: configuration.timers)))
        (events, continuation) = AsyncStream.makeStream(of: Event.self)
        clock = { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }
        stack.setHandlers(onRequest: { [weak self] request in self?.incoming(request) },
                          onTransportEvent: { [weak self] event in self?.transportEvent(event) })
    }

    /// Starts registering.
    public func start() {
        step { $0.start(now: $1) }
    }

    /// Stops: un-REGISTERs through the current edge (expires 0), closes connections, ends ``events``.
    public func stop() async {
        let (edge, flow, cseq) = state.withLockedValue { state -> (String?, Flow?, Int) in
            state.stopped = true
            state.timer?.cancel()
            let edge = state.machine.currentEdge
            return (edge, edge.flatMap { state.flows[$0] }, state.machine.cseq + 1)
        }
        if let edge, let flow, state.withLockedValue({ $0.machine.isRegistered }) {
            _ = try? await sendAnswering(registerRequest(edge: edge, flow: flow, cseq: cseq, expires: 0, credentials: nil), on: flow)
        }
        await stack.transport.shutdown()
        continuation.finish()
    }

    /// The instance id the phone registers with (`+sip.instance`).
    public var instance: String { configuration.instance }

    /// Whether the phone is registered, and through which edge.
    public var registeredEdge: String? {
        state.withLockedValue { $0.machine.isRegistered ? $0.machine.currentEdge : nil }
    }

    // MARK: - The machine

    /// Runs one input on the machine, then its actions, then schedules its next wake-up.
    func step(_ input: (inout RegistrationMachine, Int64) -> [RegistrationMachine.Action]) {
        let now = clock()
        let actions = state.withLockedValue { state -> [RegistrationMachine.Action] in
            guard !state.stopped else { return [] }
            return input(&state.machine, now)
        }
        for action in actions { perform(action) }
        reschedule()
    }

    private func reschedule() {
        let now = clock()
        state.withLockedValue { state in
            state.timer?.cancel()
            guard !state.stopped, let wake = state.machine.nextWakeUp else { return }
            state.timer = stack.eventLoop.scheduleTask(in: .milliseconds(max(0, wake - now))) { [weak self] in
                self?.step { machine, now in machine.poll(now: now) { STUNMessage.bindingRequest().transactionID } }
            }
        }
    }

    private func perform(_ action: RegistrationMachine.Action) {
        switch action {
        case .connect(let edge):
            Task { await connect(edge) }
        case .close(let edge):
            if let flow = state.withLockedValue({ $0.flows.removeValue(forKey: edge) }) { stack.transport.close(flow) }
        case .sendRegister(let edge, let cseq, let expires, let challenge):
            Task { await register(edge: edge, cseq: cseq, expires: expires, challenge: challenge) }
        case .sendSTUN(let id):
            guard let flow = currentFlow, let edge = state.withLockedValue({ $0.flows.first { $0.value == flow }?.key }) else { return }
            if stack.transport.write(ByteBuffer(bytes: STUNMessage(type: .bindingRequest, transactionID: id).encode()), on: flow) {
                continuation.yield(.keepaliveSent(edge: edge))
            }
        case .sendPing:
            guard let flow = currentFlow else { return }
            stack.transport.write(ByteBuffer(string: "\r\n\r\n"), on: flow)
        case .endCalls(let reason):
            for callID in activeCalls { end(callID, reason: reason) }
        case .report(let event):
            continuation.yield(.registration(event))
        }
    }

    var currentFlow: Flow? {
        state.withLockedValue { state in state.machine.currentEdge.flatMap { state.flows[$0] } }
    }

    private func connect(_ edge: String) async {
        do {
            guard let colon = edge.lastIndex(of: ":"), let port = Int(edge[edge.index(after: colon)...]) else {
                throw SIPTransportError(detail: "edge \(edge) is not host:port")
            }
            let host = String(edge[..<colon]).trimmingCharacters(in: ["[", "]"])
            let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
            let flow = try await stack.transport.connect(.tls, to: address, serverHostname: host, fresh: true)
            state.withLockedValue { $0.flows[edge] = flow }
            step { $0.connected(edge: edge, now: $1) }
        } catch {
            step { $0.connectFailed(edge: edge, now: $1, cause: SIPTLS.describe(error)) }
        }
    }

    private func register(edge: String, cseq: Int, expires: Int, challenge: String?) async {
        guard let flow = state.withLockedValue({ $0.flows[edge] }) else { return }
        var request = registerRequest(edge: edge, flow: flow, cseq: cseq, expires: expires, credentials: nil)
        if challenge != nil, let answering = state.withLockedValue({ $0.challenge }) {
            request = registerRequest(edge: edge, flow: flow, cseq: cseq, expires: expires, credentials: credentials(for: request, answering: answering))
        }
        continuation.yield(.registerSent(edge: edge, cseq: cseq))
        guard let answer = try? await stack.send(request: request, on: flow), let status = answer.statusLine?.statusCode else {
            return  // the machine's REGISTER timeout decides
        }
        let ours = (try? answer.contacts())?.first { $0.parameters.unquoted("+sip.instance") == "<\(configuration.instance)>" }
        let granted = ours?.parameters["expires"].flatMap { Int($0) } ?? answer.expires.map(Int.init)
        // The machine only needs to know a challenge came that can be answered; the phone keeps it.
        let challenge = status == 401 || status == 407 ? DigestClient.challenge(in: answer) : nil
        state.withLockedValue { $0.challenge = challenge }
        step { machine, now in
            machine.registerAnswered(status: status, challenge: challenge.map { "Digest realm=\"\($0.realm)\", nonce=\"\($0.nonce)\"" },
                                     expires: granted, arsk: answer.hasOptionTag("X-cisco-supports-AR_SK", in: .supported),
                                     outbound: answer.hasOptionTag("outbound", in: .require),
                                     flowTimer: answer.headers[.flowTimer].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) },
                                     minExpires: answer.headers[.minExpires].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) },
                                     retryAfter: answer.headers[.retryAfter].flatMap { Int($0.prefix { $0.isNumber }) },
                                     reason: answer.statusLine.map { String($0.reasonPhrase) }, now: now)
        }
    }

    /// The REGISTER of SPEC B3 on a flow.
    func registerRequest(edge: String, flow: Flow, cseq: Int, expires: Int, credentials: (header: SIPHeaderName, value: String)?) -> SIPMessage {
        let local = ProxyForwarder.hostPort(flow.local)
        let callID = state.withLockedValue { $0.machine.callID }
        var message = SIPMessage.request(method: "REGISTER", uri: "sip:\(configuration.domain)")
        message.headers.append(.via, "SIP/2.0/TLS \(local);branch=z9hG4bK-ph-\(UInt64.random(in: 1...UInt64.max));rport")
        message.headers.append(.maxForwards, "70")
        message.headers.append(.from, "<sip:\(configuration.user)@\(configuration.domain)>;tag=ph\(configuration.user)")
        message.headers.append(.to, "<sip:\(configuration.user)@\(configuration.domain)>")
        message.headers.append(.callID, callID)
        message.headers.append(.cseq, "\(cseq) REGISTER")
        message.headers.append(.contact, "<sip:\(configuration.user)@\(local);transport=tls>;+sip.instance=\"<\(configuration.instance)>\";"
                               + "+u.sip!devicename.ccm.cisco.com=\"\(configuration.deviceName)\";x-cisco-mra-ha=AR_SK;x-cisco-reg-id=1;reg-id=1")
        message.headers.append(.supported, "path, outbound")
        message.headers.append(.expires, String(expires))
        if let credentials { message.headers.append(credentials.header, credentials.value) }
        message.headers.append(.userAgent, "Edgeway phone")
        message.headers.append(.contentLength, "0")
        return message
    }

    private func transportEvent(_ event: SIPTransportEvent) {
        switch event {
        case .stun(let bytes, let flow):
            guard flow.connectionID == currentFlow?.connectionID,
                  let message = try? STUNMessage.decode(Array(bytes.readableBytesView)),
                  message.type == .bindingSuccess || message.type == .bindingError
            else { return }
            step { $0.stunAnswered(transactionID: message.transactionID, success: message.type == .bindingSuccess, now: $1) }
        case .pong(let flow):
            if flow.connectionID == currentFlow?.connectionID { continuation.yield(.pong) }
        case .flowClosed(let flow, let reason):
            let edge = state.withLockedValue { state in state.flows.first { $0.value.connectionID == flow.connectionID }?.key }
            guard let edge else { return }
            state.withLockedValue { _ = $0.flows.removeValue(forKey: edge) }
            step { $0.connectionClosed(edge: edge, now: $1, cause: reason) }
        default:
            break
        }
    }
}
