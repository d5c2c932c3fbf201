import Location
import NIOCore
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport

/// The registrar role's decisions as a value (SPEC B7, B12; ARCHITECTURE L4): digest
/// authentication, the binding rules, OPTIONS, STUN answers and the location service.
///
/// ```
///   REGISTER ──begin──▶ digest ──(account cached?)──no──▶ .lookUpAccount ──accountLoaded──┐
///      │ 400/404          │ yes ◀──────────────────────────────────────────────────────────┘
///      ▼                  ▼
///   .respond         refusal? ──401/403──▶ .respond
///                         │ no
///                         ▼
///                  .updateBindings ──bindingsUpdated──▶ .respond(200 / 423 / 4xx / 500)
///
///   other request ──▶ CANCEL: .cancelForwarded   AOR of the domain: .lookUpBindings ──bindingsFound──┐
///                                                 else ────────────────────────────────────────────────┤
///                                     .forward(to: registered flow, else Path, else Contact) ◀─────────┘
///                                        ──answerReceived / forwardFailed──▶ .respond
/// ```
///
/// No I/O, lock, clock, logger or task inside: every input is a `mutating func … -> [Action]`,
/// time comes in as `now` (milliseconds since 1970, the clock of ``Binding/expiresAt``), and
/// To-tags come from the ``TokenGenerator`` it holds, so the same inputs give the same actions.
/// Its owner (``RegistrarService``) keeps it on one event loop and performs the actions; actions
/// answer the request of the input they came from, and the `Pending…` values carry what an
/// input needs to continue once the owner has done the I/O.
public struct RegistrarStateMachine: Sendable {
    /// How the registrar behaves.
    public struct Configuration: Sendable {
        /// The domain it serves and the digest realm. Default `example.com`.
        public var domain: String
        /// Expiry rules (Expires default 120, Min-Expires 60).
        public var policy: RegistrationPolicy
        /// The Server header value. Default `Edgeway registrar`.
        public var serverName: String
        /// Digest algorithms offered, most preferred first. Default SHA-256, then MD5.
        public var digestAlgorithms: [DigestAuthenticator.Algorithm]
        /// How long an account read from the store is reused (`edgeway users` changes show
        /// after at most this long). Default 2 s.
        public var accountCacheLifetime: Duration = .seconds(2)
        /// The `Retry-After` of a 503 answered while a store fails (a shared database down or
        /// past its deadline), in seconds. Default 2.
        public var storeRetryAfter = 2

        /// Creates a configuration.
        public init(domain: String = "example.com", policy: RegistrationPolicy = .init(), serverName: String = "Edgeway registrar",
                    digestAlgorithms: [DigestAuthenticator.Algorithm] = [.sha256, .md5]) {
            self.domain = domain
            self.policy = policy
            self.serverName = serverName
            self.digestAlgorithms = digestAlgorithms
        }
    }

    /// What the owner does after an input; each refers to the request of that input.
    public enum Action: Sendable {
        /// Answer the request with this response, through its server transaction.
        case respond(SIPMessage)
        /// Read this account from the ``AccountStore``, then call
        /// ``RegistrarStateMachine/accountLoaded(_:for:now:)`` (or
        /// ``RegistrarStateMachine/accountLookupFailed(_:for:)`` when the store throws).
        case lookUpAccount(username: String, realm: String, pending: PendingRegistration)
        /// Run `update` on the bindings of `aor` in the ``LocationStore`` (atomically), then call
        /// ``RegistrarStateMachine/bindingsUpdated(_:for:)`` with its result.
        case updateBindings(aor: String, update: @Sendable (inout [Binding]) -> BindingDecision, pending: PendingRegistration)
        /// Read the bindings of `aor` from the ``LocationStore``, then call
        /// ``RegistrarStateMachine/bindingsFound(_:for:)``.
        case lookUpBindings(aor: String, pending: PendingProxy)
        /// Forward this request statefully (``ProxyForwarder/forward(_:on:upstreamBranch:onAnswer:)``)
        /// to the next hop; pass its answers to ``RegistrarStateMachine/answerReceived(_:for:)``, and a
        /// connection that cannot be opened to ``RegistrarStateMachine/forwardFailed(_:for:)``.
        case forward(SIPMessage, to: NextHop, pending: PendingProxy)
        /// A CANCEL: cancel the INVITE it names downstream (``ProxyForwarder/cancel(_:)``) and answer
        /// `ok` when one was being forwarded, else `unknown` (RFC 3261 §16.10).
        case cancelForwarded(ok: SIPMessage, unknown: SIPMessage)
        /// Write this STUN message on the flow (RFC 8489 §6.3).
        case sendSTUN(ByteBuffer, on: Flow)
        /// Cancel the branches still pending of the INVITE received with this top Via branch
        /// (``ProxyForwarder/cancelForwarded(upstreamBranch:)``, RFC 3261 §16.7 step 10).
        case cancelBranches(upstreamBranch: Substring)
        /// Count an intrusion-protection event against the request's source (SPEC B28).
        case recordIntrusion(IntrusionCategory)
    }

    /// Where a forwarded request goes.
    public enum NextHop: Sendable, Hashable {
        /// The open flow the target registered on (RFC 5626 §5.3).
        case flow(Flow)
        /// An address to connect to (the first Route, else the target URI; RFC 3261 §16.6 step 7).
        case address(transport: SIPTransportKind, host: String, port: Int)
    }

    /// The parameter that marks the registrar's own Record-Route and Route entries.
    public static let routeMarker = "x-edgeway-registrar"

    static let server = SIPHeaderName("Server")

    let configuration: Configuration
    let authenticator: DigestAuthenticator
    /// The domain in lower case, and `@domain` for building addresses of record.
    let domain: String
    let aorSuffix: String
    var tokens: TokenGenerator
    var accounts: AccountCache
    var flows = FlowTable()
    /// INVITEs forked to several instances, by ``PendingProxy/fork`` (RFC 3261 §16.7).
    var forks: [UInt64: ResponseContext] = [:]
    var nextFork: UInt64 = 1
    /// INVITEs cancelled upstream, by their top Via branch, newest last (at most 4,096): no new
    /// flow is tried for them (RFC 3261 §16.10).
    var cancelledInvites = BoundedSet(limit: 4_096)

    /// A registrar with no accounts cached and no flows known.
    ///
    /// - Parameters:
    ///   - authenticator: checks digest credentials; by default one for the domain with the
    ///     configured algorithms and a random secret.
    ///   - tokens: where To-tags come from; `.seeded(…)` in tests.
    public init(configuration: Configuration, authenticator: DigestAuthenticator? = nil, tokens: TokenGenerator = .system) {
        self.configuration = configuration
        self.authenticator = authenticator
            ?? DigestAuthenticator(realm: configuration.domain, algorithms: configuration.digestAlgorithms)
        self.domain = configuration.domain.lowercased()
        self.aorSuffix = "@" + configuration.domain.lowercased()
        self.tokens = tokens
        self.accounts = AccountCache(lifetime: configuration.accountCacheLifetime.wholeMilliseconds)
    }

    /// A request that opened a server transaction (already validated, its Via stamped).
    public mutating func requestReceived(_ request: SIPMessage, flow: Flow, now: Int64) -> [Action] {
        switch request.requestLine?.method {
        case "REGISTER":
            return register(request, flow: flow, now: now)
        case "OPTIONS" where Self.isForRegistrar(request):
            return [.respond(answer(request, 200, "OK"))]
        default:
            return proxy(request, flow: flow)
        }
    }

    /// A STUN message on one of the registrar's flows: a Binding request gets its mapped address
    /// (SPEC B12); unknown comprehension-required attributes get 420 (RFC 8489 §6.3.1).
    public mutating func stunReceived(_ bytes: ByteBuffer, flow: Flow) -> [Action] {
        guard let answer = STUNBindingAnswer.answer(to: bytes, from: flow) else { return [] }
        return [.sendSTUN(answer, on: flow)]
    }

    /// A connection closed: requests for the bindings registered on it now go through their
    /// Path or to their Contact.
    public mutating func flowClosed(_ flow: Flow) -> [Action] {
        flows.remove(flow)
        return []
    }

    /// OPTIONS without a user part is for the registrar itself; others are proxied.
    static func isForRegistrar(_ options: SIPMessage) -> Bool {
        (try? options.requestURI()).map { $0.user == nil } ?? true
    }

    /// A store failed: `503 Service Unavailable (<store> store: <cause>)` with `Retry-After` to a
    /// REGISTER (RFC 3261 §21.5.4: the registrar is fine and the store comes back by itself); a
    /// proxied request gets `500` with `Retry-After` instead (§21.5.1, §20.33), since a phone may
    /// take a 503 to its call for a dead edge and fail over.
    mutating func storeFailed(_ request: SIPMessage, _ store: String, _ error: any Error) -> SIPMessage {
        // A reason phrase is one line of text (RFC 3261 §25.1): a driver's message may hold more.
        let cause = String("\(error)".map { $0.isNewline || $0 == "\t" ? " " : $0 })
        var response = request.requestLine?.method == "REGISTER"
            ? answer(request, 503, "Service Unavailable (\(store) store: \(cause))")
            : answer(request, 500, "Server Internal Error (\(store) store: \(cause))")
        response.headers.append(.retryAfter, String(configuration.storeRetryAfter))
        return response
    }

    /// A response of this registrar, with a fresh To-tag and the Server header.
    mutating func answer(_ request: SIPMessage, _ status: Int, _ reason: String, to: NameAddress? = nil) -> SIPMessage {
        var response = SIPResponseBuilder.response(to: request, statusCode: status, reasonPhrase: reason,
                                                   toTag: "r" + tokens.nextHex(), parsedTo: to)
        response.headers.append(Self.server, configuration.serverName)
        return response
    }
}
