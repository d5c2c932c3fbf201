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
        return BindingKey(instance: nil, regID: nil, contactURI: contactURI)
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
