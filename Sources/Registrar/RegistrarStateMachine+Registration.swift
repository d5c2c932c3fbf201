import Location
import SIPCore
import SIPTransaction
import SIPTransport

/// RFC 3261 §10.3 with digest authentication (RFC 8760): one path for every REGISTER,
/// digest → account → binding rules → answer.
extension RegistrarStateMachine {
    /// A REGISTER whose To header names a user of this domain, waiting for its account or for
    /// the location store.
    public struct PendingRegistration: Sendable {
        /// The REGISTER.
        public let request: SIPMessage
        /// The flow it arrived on.
        public let flow: Flow
        /// Its address of record, canonical (`sip:alice@example.com`).
        public let aor: String
        /// When it arrived, in milliseconds since 1970: the time its bindings are computed at.
        public let now: Int64
        let to: NameAddress
        let user: Substring
        /// The Path set and the arrival flow (see ``pathIdentity(_:_:)``), once authenticated.
        var pathIdentity = ""
    }

    /// The first steps of a REGISTER: RFC 3261 §10.3 steps 1–3 (the To must be an AOR of this
    /// domain), then the digest check.
    mutating func register(_ request: SIPMessage, flow: Flow, now: Int64) -> [Action] {
        // RFC 3261 §10.3 step 3: the To header field holds the address of record.
        guard let to = try? request.to(), to.uri.isSIP, let user = to.uri.user else {
            return [.respond(answer(request, 400, "Bad Request (To must be a SIP AOR)"))]
        }
        let host = to.uri.host
        // RFC 3261 §10.3 step 1: a registrar answers only for the domains it serves.
        guard host.caseInsensitiveEquals(domain) else {
            return [.respond(answer(request, 404, "Not Found (domain \(host) is not served here)"))]
        }
        let pending = PendingRegistration(request: request, flow: flow, aor: "sip:" + user + aorSuffix, now: now, to: to, user: user)
        // RFC 3261 §10.3 step 2: authenticate (RFC 3261 §22, digest per RFC 8760).
        var wanted: String?
        let verdict = authenticator.verifyNow(request, now: now) { username in
            if let cached = accounts.account(username: username, now: now) { return cached }
            wanted = username
            return nil
        }
        guard let verdict else {
            return [.lookUpAccount(username: wanted ?? "", realm: configuration.domain, pending: pending)]
        }
        return authenticated(pending, verdict)
    }

    /// The account a ``Action/lookUpAccount(username:realm:pending:)`` asked for (`nil`: no such
    /// user); it is cached for ``Configuration/accountCacheLifetime`` from `now`.
    public mutating func accountLoaded(_ account: Account?, for pending: PendingRegistration, now: Int64) -> [Action] {
        var username: String?
        let verdict = authenticator.verifyNow(pending.request, now: pending.now) { name in
            username = name
            return .some(account)
        }
        if let username { accounts.store(account, username: username, now: now) }
        return authenticated(pending, verdict ?? .missing)
    }

    /// The account store failed: 503 naming the cause, with Retry-After.
    public mutating func accountLookupFailed(_ error: any Error, for pending: PendingRegistration) -> [Action] {
        [.respond(storeFailed(pending.request, "account", error))]
    }

    /// The result of an ``Action/updateBindings(aor:update:pending:)``: the 200 OK with the
    /// bindings, the rules' rejection, or 503 with Retry-After when the store failed.
    public mutating func bindingsUpdated(_ result: Result<BindingDecision, any Error>, for pending: PendingRegistration) -> [Action] {
        let request = pending.request
        switch result {
        case .failure(let error):
            return [.respond(storeFailed(request, "location", error))]
        case .success(.reject(let status, let reason, let minExpires)):
            var response = answer(request, status, reason)
            // RFC 3261 §10.3 step 7: a 423 carries the registrar's Min-Expires.
            if let minExpires { response.headers.append(.minExpires, String(minExpires)) }
            return [.respond(response)]
        case .success(.accept(let bindings, let newOnPath)):
            for binding in bindings where binding.pathIdentity == pending.pathIdentity {
                flows.note(contactURI: binding.contactURI, flow: pending.flow)
            }
            var response = answer(request, 200, "OK", to: pending.to)
            // RFC 3261 §10.3 step 8: the 200 OK lists every current binding with its expiry.
            for contact in BindingRules.responseContacts(bindings, newOnPath: newOnPath, now: pending.now) {
                response.headers.append(.contact, contact)
            }
            // SPEC B4: the registrar supports keepalive failover; edges and cores remove the
            // acceptance when their setting does not allow it.
            let contacts = (try? request.contacts()) ?? []
            if contacts.contains(where: { $0.parameters["x-cisco-mra-ha"]?.caseInsensitiveEquals("AR_SK") ?? false }) {
                response.headers.append(.supported, "X-cisco-supports-AR_SK")
            }
            return [.respond(response)]
        }
    }

    /// The challenge or refusal for a REGISTER not authenticated as its own user, else the
    /// binding update.
    private mutating func authenticated(_ pending: PendingRegistration, _ verdict: DigestAuthenticator.Verdict) -> [Action] {
        switch verdict {
        case .missing, .stale:
            // RFC 3261 §22.1, RFC 8760 §2.4: one challenge per algorithm, most preferred first.
            var challenge = answer(pending.request, 401, "Unauthorized", to: pending.to)
            for value in authenticator.challenges(now: pending.now, stale: verdict == .stale) {
                challenge.headers.append(.wwwAuthenticate, value)
            }
            return [.respond(challenge)]
        case .refused:
            return [.respond(answer(pending.request, 403, "Forbidden")), .recordIntrusion(.sipAuthentication)]
        case .authenticated(let username) where username != pending.user:
            // RFC 3261 §10.3 step 3: the user must be allowed to register this address of record.
            return [.respond(answer(pending.request, 403, "Forbidden (\(username) may not register \(pending.aor))")),
                    .recordIntrusion(.sipAuthentication)]
        case .authenticated:
            var pending = pending
            pending.pathIdentity = Self.pathIdentity(pending.request, pending.flow)
            return [.updateBindings(aor: pending.aor, update: bindingUpdate(pending), pending: pending)]
        }
    }

    /// The change a REGISTER makes to its address of record's bindings (RFC 3261 §10.3 steps 6–8).
    private func bindingUpdate(_ pending: PendingRegistration) -> @Sendable (inout [Binding]) -> BindingDecision {
        let (request, aor, now, pathIdentity) = (pending.request, pending.aor, pending.now, pending.pathIdentity)
        let policy = configuration.policy
        return { bindings in
            let decision = BindingRules.apply(request, aor: aor, to: bindings, pathIdentity: pathIdentity, policy: policy, now: now)
            if case .accept(let updated, _) = decision { bindings = updated }
            return decision
        }
    }

    /// The Path set and the flow a REGISTER came in on: a binding is new on this path
    /// (`x-cisco-newreg`) when it changes.
    static func pathIdentity(_ request: SIPMessage, _ flow: Flow) -> String {
        let arrival = flow.transport.rawValue + "/" + flow.remoteHost + ":" + String(flow.remotePort)
        let path = request.headers.lines(.path)
        return path.isEmpty ? arrival : (path.map(String.init) + [arrival]).joined(separator: ",")
    }
}
