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
    private let accounts: any AccountStore
    private let authenticator: DigestAuthenticator
    private let configuration: Configuration
    private let clock: @Sendable () -> Int64
    private let proxy: LocationProxy
    private let accountCache: AccountCache

    /// Creates the registrar on a stack and attaches itself as the stack's request handler.
    ///
    /// - Parameter clock: milliseconds since 1970; injected so tests control time.
    public init(stack: SIPStack, locations: any LocationStore, accounts: any AccountStore, configuration: Configuration,
                authenticator: DigestAuthenticator? = nil, clock: @escaping @Sendable () -> Int64) {
        self.stack = stack
        self.locations = locations
        self.accounts = accounts
        self.configuration = configuration
        self.authenticator = authenticator
            ?? DigestAuthenticator(realm: configuration.domain, algorithms: configuration.digestAlgorithms)
        self.clock = clock
        self.proxy = LocationProxy(stack: stack, locations: locations, domain: configuration.domain)
        self.accountCache = AccountCache(store: accounts, lifetime: configuration.accountCacheLifetime, clock: clock)
        stack.setHandlers(onRequest: { [weak self] request in
            guard let self else { return }
            // On the loop that read the request: no thread hop before the answer is written.
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
        case "OPTIONS" where (try? message.requestURI()).map({ $0.user == nil }) ?? true:
            request.respond(answer(message, 200, "OK"))
        default:
            await proxy.forward(request) { [weak self] message, status, reason in
                self?.answer(message, status, reason) ?? message
            }
        }
    }

    /// RFC 3261 §10.3 with digest authentication.
    func register(_ request: SIPMessage, flow: Flow) async -> SIPMessage {
        let now = clock()
        guard let to = try? request.to(), to.uri.isSIP, let user = to.uri.user else {
            return answer(request, 400, "Bad Request (To must be a SIP AOR)")
        }
        guard to.uri.host.lowercased() == configuration.domain.lowercased() else {
            return answer(request, 404, "Not Found (domain \(to.uri.host) is not served here)")
        }
        let aor = "sip:\(user)@\(configuration.domain.lowercased())"
        let verdict = await (try? authenticator.verify(request, now: now) { [accountCache, configuration] username in
            try await accountCache.account(username: username, realm: configuration.domain)
        }) ?? .missing
        switch verdict {
        case .missing, .stale:
            var challenge = answer(request, 401, "Unauthorized", to: to)
            for value in authenticator.challenges(now: now, stale: verdict == .stale) {
                challenge.headers.append(.wwwAuthenticate, value)
            }
            return challenge
        case .refused:
            return answer(request, 403, "Forbidden")
        case .authenticated(let username) where username != String(user):
            return answer(request, 403, "Forbidden (\(username) may not register \(aor))")
        case .authenticated:
            break
        }
        let pathIdentity = (request.headers.lines(.path).map(String.init) + ["\(flow.transport)/\(flow.remoteHost):\(flow.remotePort)"])
            .joined(separator: ",")
        let policy = configuration.policy
        let decision: BindingDecision
        do {
            decision = try await locations.update(aor: aor) { bindings in
                let decision = BindingRules.apply(request, aor: aor, to: bindings, pathIdentity: pathIdentity, policy: policy, now: now)
                if case .accept(let updated, _) = decision { bindings = updated }
                return decision
            }
        } catch {
            return answer(request, 500, "Server Internal Error (location store: \(error))")
        }
        switch decision {
        case .reject(let status, let reason, let minExpires):
            var response = answer(request, status, reason)
            if let minExpires { response.headers.append(.minExpires, String(minExpires)) }
            return response
        case .accept(let bindings, let newOnPath):
            proxy.noteRegistered(contactURIs: bindings.filter { $0.pathIdentity == pathIdentity }.map(\.contactURI), flow: flow)
            var response = answer(request, 200, "OK", to: to)
            for contact in BindingRules.responseContacts(bindings, newOnPath: newOnPath, now: now) {
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
        response.headers.append(.init("Server"), configuration.serverName)
        return response
    }
}
