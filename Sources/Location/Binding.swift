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
        var uri = uri
        return uri.withUTF8 { bytes -> String in
            // The userinfo ends at the first "@" (it cannot hold one unescaped); without one the
            // host starts after the scheme, whose letters are lowered too.
            let at = bytes.firstIndex(of: UInt8(ascii: "@"))
            let schemeEnd = bytes.firstIndex(of: UInt8(ascii: ":")) ?? 0
            let hostStart = (at ?? schemeEnd) + 1
            let headersStart = bytes[hostStart...].firstIndex(of: UInt8(ascii: "?")) ?? bytes.count
            let semicolons = bytes[hostStart..<headersStart].lazy.filter { $0 == UInt8(ascii: ";") }.count
            func lowered(_ index: Int) -> UInt8 {
                let byte = bytes[index]
                let isUpper = byte >= 0x41 && byte <= 0x5A
                return isUpper && (index >= hostStart || index < schemeEnd) ? byte | 0x20 : byte
            }
            guard semicolons > 1 else {
                // One pass, one allocation: the common case.
                guard bytes.indices.contains(where: { lowered($0) != bytes[$0] }) else { return String(decoding: bytes, as: UTF8.self) }
                return String(unsafeUninitializedCapacity: bytes.count) { output in
                    for index in bytes.indices { output[index] = lowered(index) }
                    return bytes.count
                }
            }
            let all = bytes.indices.map(lowered)
            let firstParameter = all[hostStart..<headersStart].firstIndex(of: UInt8(ascii: ";"))!
            let parameters = all[(firstParameter + 1)..<headersStart].split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
            var form = Array(all[..<firstParameter])
            for parameter in parameters.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                form.append(UInt8(ascii: ";"))
                form.append(contentsOf: parameter)
            }
            form.append(contentsOf: all[headersStart...])
            return String(decoding: form, as: UTF8.self)
        }
    }
}
