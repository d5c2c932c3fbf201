import SIPCore
/// One registered contact of an address of record (RFC 3261 §10, RFC 5626 §6).
public struct Binding: Hashable, Sendable, Codable {
    /// The address of record, canonical (`sip:alice@example.com`).
    public var aor: String
    /// The Contact URI.
    public var contactURI: String
    /// The whole Contact value as registered, parameters included (for the 200 OK and routing).
    public var contactValue: String
    /// The `+sip.instance` value without quotes and angle brackets, if any.
    public var instanceID: String?
    /// The `reg-id` (RFC 5626) or `x-cisco-reg-id`, if any.
    public var regID: Int?
    /// The Call-ID of the REGISTER that last refreshed this binding.
    public var callID: String
    /// The CSeq of that REGISTER.
    public var cseq: UInt32
    /// When the binding lapses, in milliseconds since 1970 (the clock is the caller's).
    public var expiresAt: Int64
    /// The Path header values of that REGISTER, in order (RFC 3327).
    public var path: [String]
    /// What identifies the path the REGISTER came in on (the Path set and the flow it arrived
    /// on); a change means the binding is new on this path (`x-cisco-newreg`).
    public var pathIdentity: String

    /// Creates a binding.
    public init(aor: String, contactURI: String, contactValue: String, instanceID: String?, regID: Int?, callID: String,
                cseq: UInt32, expiresAt: Int64, path: [String], pathIdentity: String) {
        self.aor = aor
        self.contactURI = contactURI
        self.contactValue = contactValue
        self.instanceID = instanceID
        self.regID = regID
        self.callID = callID
        self.cseq = cseq
        self.expiresAt = expiresAt
        self.path = path
        self.pathIdentity = pathIdentity
    }

    /// What makes two REGISTERs refer to the same binding: (instance, reg-id) per RFC 5626 §6,
    /// else the instance alone, else the Contact URI (RFC 3261 §10.3).
    public var key: BindingKey {
        if let instanceID {
            return BindingKey(instance: instanceID, regID: regID, contactURI: nil)
        }
        return BindingKey(instance: nil, regID: nil, contactURI: Self.comparisonForm(of: contactURI))
    }

    /// Seconds left before the binding lapses, at `now` (milliseconds since 1970).
    public func remainingSeconds(now: Int64) -> Int64 {
        max(0, (expiresAt - now + 999) / 1000)
    }
}

/// The identity of a binding within its address of record.
public struct BindingKey: Hashable, Sendable {
    /// The `+sip.instance`, when the contact has one.
    public var instance: String?
    /// The reg-id, when the contact has one with an instance.
    public var regID: Int?
    /// The Contact URI, when there is no instance.
    public var contactURI: String?
}

extension Binding {
    /// A Contact URI in the form RFC 3261 §19.1.4 compares it (§10.3 step 7): the userinfo as
    /// written, everything else in lower case, parameters in name order. Two URIs that differ
    /// only in the case of host, parameter names and values, or in parameter order, give the same
    /// form. (The rule that a parameter present in only one of the URIs is ignored, unless it is
    /// `user`, `ttl`, `method`, `maddr` or `transport`, is not applied.)
    static func comparisonForm(of uri: String) -> String {
        // Already in the form: no upper-case letter and at most one parameter.
        let bytes = uri.utf8
        if !bytes.contains(where: { (0x41...0x5A).contains($0) }), bytes.lazy.filter({ $0 == UInt8(ascii: ";") }).count <= 1 {
            return uri
        }
        guard let parsed = try? SIPURI(parsing: uri) else { return uri }
        var form = parsed.scheme.lowercased() + ":"
        if let user = parsed.user {
            form += user
            if let password = parsed.password { form += ":" + password }
            form += "@"
        }
        form += parsed.host.lowercased()
        if let port = parsed.port { form += ":" + String(port) }
        let parameters = parsed.parameters.map { ($0.name.lowercased(), $0.value.map { $0.lowercased() }) }.sorted { $0.0 < $1.0 }
        for (name, value) in parameters { form += ";" + name + (value.map { "=" + $0 } ?? "") }
        if let headers = parsed.headers { form += "?" + headers }
        return form
    }
}
