import Location
import NIOCore
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport
import STUNCore

/// The registrar role (SPEC B7, B12): authenticates REGISTERs with digest, applies the binding
/// rules, answers OPTIONS, and answers STUN Binding requests and CRLF pings on its connections.
public final class RegistrarService: Sendable {
    /// How the registrar behaves.
    public struct Configuration: Sendable {
        /// The domain it serves and the digest realm. Default `example.com`.
        public var domain: String
        /// Expiry rules (Expires default 120, Min-Expires 60).
        public var policy: RegistrationPolicy
        /// The Server header value.
        public var serverName: String
        /// Digest algorithms offered, most preferred first. Default SHA-256, then MD5.
        public var digestAlgorithms: [DigestAuthenticator.Algorithm]
        /// How long an account read from the store is reused, in milliseconds (`edgeway users`
        /// changes show after at most this long). Default 2,000.
        public var accountCacheLifetime: Int64 = 2_000

        /// Creates a configuration.
        public init(domain: String = "example.com", policy: RegistrationPolicy = .init(), serverName: String = "Edgeway registrar",
                    digestAlgorithms: [DigestAuthenticator.Algorithm] = [.sha256, .md5]) {
            self.domain = domain
            self.policy = policy
            self.serverName = serverName
            self.digestAlgorithms = digestAlgorithms
        }
    }

    private let stack: SIPStack
    private let locations: any LocationStore
    /// `locations` when its updates never wait: REGISTERs are then answered without a task.
    private let synchronousLocations: (any SynchronousLocationStore)?
    private let accounts: any AccountStore
    private let authenticator: DigestAuthenticator
    private let configuration: Configuration
    /// The domain in lower case, and `@domain` for building addresses of record.
    private let domain: String
    private let aorSuffix: String
    private let clock: @Sendable () -> Int64
    private let proxy: LocationProxy
    private let accountCache: AccountCache

    private static let server = SIPHeaderName("Server")

    /// Creates the registrar on a stack and attaches itself as the stack's request handler.
    ///
    /// - Parameter clock: milliseconds since 1970; injected so tests control time.
    public init(stack: SIPStack, locations: any LocationStore, accounts: any AccountStore, configuration: Configuration,
                authenticator: DigestAuthenticator? = nil, clock: @escaping @Sendable () -> Int64) {
        self.stack = stack
        self.locations = locations
        self.synchronousLocations = locations as? any SynchronousLocationStore
        self.accounts = accounts
        self.configuration = configuration
        self.domain = configuration.domain.lowercased()
        self.aorSuffix = "@" + configuration.domain.lowercased()
        self.authenticator = authenticator
            ?? DigestAuthenticator(realm: configuration.domain, algorithms: configuration.digestAlgorithms)
        self.clock = clock
        self.proxy = LocationProxy(stack: stack, locations: locations, domain: configuration.domain)
        self.accountCache = AccountCache(store: accounts, lifetime: configuration.accountCacheLifetime, clock: clock)
        stack.setHandlers(onRequest: { [weak self] request in
            guard let self else { return }
            // On the loop that read the request: answered at once when nothing has to wait,
            // else in a task on that same loop, so no thread hop comes before the answer.
            if let answer = self.answerNow(request) {
                request.respond(answer)
                return
            }
            Task(executorPreference: EventLoopTaskExecutor(request.eventLoop)) { await self.handle(request) }
        }, onTransportEvent: { [weak self] event in
            self?.handle(event)
        })
    }

    private func handle(_ request: SIPStack.IncomingRequest) async {
        let message = request.message
        switch message.requestLine?.method {
        case "REGISTER":
            request.respond(await register(message, flow: request.flow))
        case "OPTIONS" where isForRegistrar(message):
            request.respond(answer(message, 200, "OK"))
        default:
            await proxy.forward(request) { [weak self] message, status, reason in
                self?.answer(message, status, reason) ?? message
            }
        }
    }

    /// The answer when it needs no waiting: OPTIONS to the registrar, and a REGISTER whose account
    /// was read recently (or that carries no credentials) with a location store that never waits.
    private func answerNow(_ request: SIPStack.IncomingRequest) -> SIPMessage? {
        let message = request.message
        switch message.requestLine?.method {
        case "REGISTER":
            guard let store = synchronousLocations else { return nil }
            return registerNow(message, flow: request.flow, store: store)
        case "OPTIONS" where isForRegistrar(message):
            return answer(message, 200, "OK")
        default:
            return nil
        }
    }

    /// OPTIONS without a user part is for the registrar itself; others are proxied.
    private func isForRegistrar(_ options: SIPMessage) -> Bool {
        (try? options.requestURI()).map { $0.user == nil } ?? true
    }

    /// RFC 3261 §10.3 with digest authentication.
    func register(_ request: SIPMessage, flow: Flow) async -> SIPMessage {
        let registration: Registration
        switch begin(request, flow: flow) {
        case .answer(let answer): return answer
        case .proceed(let checked): registration = checked
        }
        let verdict = await (try? authenticator.verify(request, now: registration.now) { [accountCache, configuration] username in
            try await accountCache.account(username: username, realm: configuration.domain)
        }) ?? .missing
        if let answer = refusal(registration, verdict) { return answer }
        let pathIdentity = Self.pathIdentity(request, flow)
        do {
            let decision = try await locations.update(aor: registration.aor, bindingUpdate(registration, pathIdentity))
            return accepted(registration, pathIdentity, decision)
        } catch {
            return answer(request, 500, "Server Internal Error (location store: \(error))")
        }
    }

    /// ``register(_:flow:)`` done before returning, or `nil` when the account must be read first.
    private func registerNow(_ request: SIPMessage, flow: Flow, store: any SynchronousLocationStore) -> SIPMessage? {
        let registration: Registration
        switch begin(request, flow: flow) {
        case .answer(let answer): return answer
        case .proceed(let checked): registration = checked
        }
        guard let verdict = authenticator.verifyNow(request, now: registration.now, account: { [accountCache, configuration] in
            accountCache.cachedAccount(username: $0, realm: configuration.domain)
        }) else { return nil }
        if let answer = refusal(registration, verdict) { return answer }
        let pathIdentity = Self.pathIdentity(request, flow)
        do {
            return accepted(registration, pathIdentity, try store.updateNow(aor: registration.aor, bindingUpdate(registration, pathIdentity)))
        } catch {
            return answer(request, 500, "Server Internal Error (location store: \(error))")
        }
    }

    /// A REGISTER whose To header names a user of this domain.
    private struct Registration {
        let request: SIPMessage
        let flow: Flow
        let to: NameAddress
        let user: Substring
        let aor: String
        let now: Int64
    }

    private enum Beginning {
        case answer(SIPMessage)
        case proceed(Registration)
    }

    private func begin(_ request: SIPMessage, flow: Flow) -> Beginning {
        guard let to = try? request.to(), to.uri.isSIP, let user = to.uri.user else {
            return .answer(answer(request, 400, "Bad Request (To must be a SIP AOR)"))
        }
        let host = to.uri.host
        guard host.caseInsensitiveEquals(domain) else {
            return .answer(answer(request, 404, "Not Found (domain \(host) is not served here)"))
        }
        return .proceed(Registration(request: request, flow: flow, to: to, user: user, aor: "sip:" + user + aorSuffix, now: clock()))
    }

    /// The challenge or refusal for a REGISTER that is not authenticated as its own user.
    private func refusal(_ registration: Registration, _ verdict: DigestAuthenticator.Verdict) -> SIPMessage? {
        switch verdict {
        case .missing, .stale:
            var challenge = answer(registration.request, 401, "Unauthorized", to: registration.to)
            for value in authenticator.challenges(now: registration.now, stale: verdict == .stale) {
                challenge.headers.append(.wwwAuthenticate, value)
            }
            return challenge
        case .refused:
            return answer(registration.request, 403, "Forbidden")
        case .authenticated(let username) where username != registration.user:
            return answer(registration.request, 403, "Forbidden (\(username) may not register \(registration.aor))")
        case .authenticated:
            return nil
        }
    }

    /// The change a REGISTER makes to its address of record's bindings.
    private func bindingUpdate(_ registration: Registration, _ pathIdentity: String) -> @Sendable (inout [Binding]) -> BindingDecision {
        let (request, aor, now) = (registration.request, registration.aor, registration.now)
        let policy = configuration.policy
        return { bindings in
            let decision = BindingRules.apply(request, aor: aor, to: bindings, pathIdentity: pathIdentity, policy: policy, now: now)
            if case .accept(let updated, _) = decision { bindings = updated }
            return decision
        }
    }

    /// The Path set and the flow a REGISTER came in on: a binding is new on this path
    /// (`x-cisco-newreg`) when it changes.
    private static func pathIdentity(_ request: SIPMessage, _ flow: Flow) -> String {
        let arrival = "\(flow.transport)/\(flow.remoteHost):\(flow.remotePort)"
        let path = request.headers.lines(.path)
        return path.isEmpty ? arrival : (path.map(String.init) + [arrival]).joined(separator: ",")
    }

    /// The answer once the location store has applied the REGISTER.
    private func accepted(_ registration: Registration, _ pathIdentity: String, _ decision: BindingDecision) -> SIPMessage {
        let request = registration.request
        switch decision {
        case .reject(let status, let reason, let minExpires):
            var response = answer(request, status, reason)
            if let minExpires { response.headers.append(.minExpires, String(minExpires)) }
            return response
        case .accept(let bindings, let newOnPath):
            proxy.noteRegistered(contactURIs: bindings.filter { $0.pathIdentity == pathIdentity }.map(\.contactURI),
                                 flow: registration.flow)
            var response = answer(request, 200, "OK", to: registration.to)
            for contact in BindingRules.responseContacts(bindings, newOnPath: newOnPath, now: registration.now) {
                response.headers.append(.contact, contact)
            }
            // SPEC B4: the registrar supports keepalive failover; edges and cores remove the
            // acceptance when their setting does not allow it.
            let contacts = (try? request.contacts()) ?? []
            if contacts.contains(where: { $0.parameters["x-cisco-mra-ha"]?.caseInsensitiveEquals("AR_SK") ?? false }) {
                response.headers.append(.supported, "X-cisco-supports-AR_SK")
            }
            return response
        }
    }

    /// STUN Binding requests on the registrar's own connections get their mapped address
    /// (SPEC B12); unknown comprehension-required attributes get 420 (RFC 8489 §6.3.1).
    private func handle(_ event: SIPTransportEvent) {
        if case .flowClosed(let flow, _) = event { proxy.flowClosed(flow) }
        guard case .stun(let bytes, let flow) = event, let answer = STUNBindingAnswer.answer(to: bytes, from: flow) else { return }
        stack.transport.write(answer, on: flow)
    }

    private func answer(_ request: SIPMessage, _ status: Int, _ reason: String, to: NameAddress? = nil) -> SIPMessage {
        var response = SIPResponseBuilder.response(to: request, statusCode: status, reasonPhrase: reason,
                                                   toTag: "r\(RandomTokens.next())", parsedTo: to)
        response.headers.append(Self.server, configuration.serverName)
        return response
    }
}
