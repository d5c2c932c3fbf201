import SIPCore

/// What the registrar does with a REGISTER.
public enum BindingDecision: Sendable, Equatable {
    /// Store `bindings` as the complete set for the address of record and answer 200 OK;
    /// `newOnPath` are the bindings this path had not registered before (`x-cisco-newreg`).
    case accept(bindings: [Binding], newOnPath: Set<BindingKey>)
    /// Answer with this status; `minExpires` goes in a Min-Expires header (423).
    case reject(status: Int, reasonPhrase: String, minExpires: Int64?)
}

/// The binding rules of RFC 3261 §10.3 steps 6–8 and RFC 5626 §6, as a pure function of the
/// request, the current bindings and the time.
public enum BindingRules {
    /// Applies a REGISTER to the bindings of its address of record.
    ///
    /// - Parameters:
    ///   - request: the REGISTER (already validated).
    ///   - aor: its address of record, canonical.
    ///   - existing: the current bindings of `aor`.
    ///   - pathIdentity: what identifies the path the request came in on.
    ///   - policy: expiry rules.
    ///   - now: milliseconds since 1970.
    public static func apply(_ request: SIPMessage, aor: String, to existing: [Binding], pathIdentity: String,
                             policy: RegistrationPolicy, now: Int64) -> BindingDecision {
        let live = existing.allSatisfy { $0.expiresAt > now } ? existing : existing.filter { $0.expiresAt > now }
        guard let callID = request.callID.map(String.init), let cseq = try? request.cseq().sequence else {
            return .reject(status: 400, reasonPhrase: "Bad Request", minExpires: nil)
        }
        let headerExpires = request.headers[.expires].map { SIPParameters.parseExpires($0) }
        if request.isWildcardContact {
            // RFC 3261 §10.3 step 6: "*" only alone and with Expires: 0.
            guard (try? request.headers.values(.contact))?.count == 1, headerExpires == .some(0) else {
                return .reject(status: 400, reasonPhrase: "Bad Request", minExpires: nil)
            }
            let kept = live.filter { $0.callID == callID && cseq <= $0.cseq }
            return .accept(bindings: kept, newOnPath: [])
        }
        guard let contacts = try? request.contacts() else {
            return .reject(status: 400, reasonPhrase: "Bad Request", minExpires: nil)
        }
        if let refusal = outboundRefusal(contacts, headerExpires: headerExpires, policy: policy) { return refusal }
        let path = request.headers.lines(.path).map(String.init)
        var bindings = live
        var newOnPath: Set<BindingKey> = []
        for contact in contacts {
            let requested = contact.parameters["expires"].map { SIPParameters.parseExpires($0) } ?? headerExpires
                ?? policy.defaultExpires
            guard requested >= 0 else { return .reject(status: 400, reasonPhrase: "Bad Request", minExpires: nil) }
            if requested > 0 && requested < policy.minExpires {
                return .reject(status: 423, reasonPhrase: "Interval Too Brief", minExpires: policy.minExpires)
            }
            let expires = min(requested, policy.maxExpires)
            let candidate = Binding(
                aor: aor, contactURI: contact.uri.description, contactValue: Self.storedValue(of: contact),
                instanceID: contact.parameters.unquoted("+sip.instance").map(Self.bareInstance),
                regID: Self.regID(of: contact),
                callID: callID, cseq: cseq, expiresAt: now + expires * 1_000, path: path, pathIdentity: pathIdentity)
            let key = candidate.key
            if let index = bindings.firstIndex(where: { $0.key == key }) {
                // RFC 3261 §10.3 step 7: the same Call-ID needs a higher CSeq, or the update fails
                // (a late refresh over a dead path must not overwrite the new binding, SPEC B7).
                if bindings[index].callID == callID && cseq <= bindings[index].cseq {
                    return .reject(status: 500, reasonPhrase: "Out Of Order CSeq", minExpires: nil)
                }
                if expires == 0 {
                    bindings.remove(at: index)
                } else {
                    if bindings[index].pathIdentity != pathIdentity { newOnPath.insert(key) }
                    bindings[index] = candidate
                }
            } else if expires > 0 {
                bindings.append(candidate)
                newOnPath.insert(key)
            }
        }
        return .accept(bindings: bindings, newOnPath: newOnPath)
    }

    /// The largest reg-id (RFC 5626 §12: `1*10DIGIT ; 1 to (2^31 - 1)`).
    static let maximumRegID = 2_147_483_647

    /// RFC 5626 §6 on the Contact set: a reg-id is 1…2³¹−1, and a REGISTER in which a Contact with
    /// a non-zero expiry carries a reg-id registers that Contact alone. `x-cisco-reg-id`, the
    /// MRA phones' spelling (SPEC B3), follows the same rules.
    private static func outboundRefusal(_ contacts: [NameAddress], headerExpires: Int64?, policy: RegistrationPolicy) -> BindingDecision? {
        var registering = 0
        var withRegID = false
        for contact in contacts {
            let value = contact.parameters["reg-id"] ?? contact.parameters["x-cisco-reg-id"]
            if let value {
                guard let number = Int(value), (1...maximumRegID).contains(number), value.utf8.allSatisfy({ (0x30...0x39).contains($0) })
                else { return .reject(status: 400, reasonPhrase: "Bad Request (reg-id \(value) is not 1 to \(maximumRegID), RFC 5626 §12)", minExpires: nil) }
            }
            let expires = contact.parameters["expires"].map { SIPParameters.parseExpires($0) } ?? headerExpires ?? policy.defaultExpires
            if expires != 0 {
                registering += 1
                if value != nil { withRegID = true }
            }
        }
        guard registering > 1, withRegID else { return nil }
        return .reject(status: 400, reasonPhrase: "Bad Request (a Contact with reg-id must be the only one registered, RFC 5626 §6)",
                       minExpires: nil)
    }

    /// The reg-id that keys a binding: only with a `+sip.instance` (RFC 5626 §6: without one the
    /// Contact is bound by RFC 3261 rules alone).
    static func regID(of contact: NameAddress) -> Int? {
        guard contact.parameters.contains("+sip.instance") else { return nil }
        return (contact.parameters["reg-id"] ?? contact.parameters["x-cisco-reg-id"]).flatMap { Int($0) }
    }

    /// The Contact values of the 200 OK: every binding with its remaining `expires`, and
    /// `x-cisco-newreg` on those new on this path (RFC 3261 §10.3 step 8, SPEC B7).
    public static func responseContacts(_ bindings: [Binding], newOnPath: Set<BindingKey>, now: Int64) -> [String] {
        bindings.map { binding in
            let remaining = String(binding.remainingSeconds(now: now))
            let isNew = newOnPath.contains(binding.key)
            guard mentionsResponseParameter(binding.contactValue) else {
                // Stored without either parameter (see storedValue(of:)): append them.
                return binding.contactValue + ";expires=" + remaining + (isNew ? ";x-cisco-newreg" : "")
            }
            guard var contact = try? NameAddress(parsing: binding.contactValue) else { return binding.contactValue }
            contact.parameters.set("expires", remaining)
            if isNew { contact.parameters.set("x-cisco-newreg", nil) }
            return contact.description
        }
    }

    /// The Contact value a binding keeps: as registered, without the `expires` and
    /// `x-cisco-newreg` parameters the 200 OK sets afresh each time.
    static func storedValue(of contact: NameAddress) -> String {
        guard contact.parameters.contains("expires") || contact.parameters.contains("x-cisco-newreg") else {
            return contact.description
        }
        var stored = contact
        stored.parameters.remove("expires")
        stored.parameters.remove("x-cisco-newreg")
        return stored.description
    }

    /// Whether a stored Contact value may carry `expires` or `x-cisco-newreg` (bindings stored
    /// before values were kept without them).
    private static func mentionsResponseParameter(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { containsIgnoringCase($0, "expires") || containsIgnoringCase($0, "x-cisco-newreg") }
    }

    /// Whether `bytes` contain `word` (given in lower case), ignoring ASCII case.
    private static func containsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        candidates: for start in 0...(bytes.count - count) {
            for index in 0..<count where bytes[start + index] | 0x20 != word.utf8Start[index] { continue candidates }
            return true
        }
        return false
    }

    /// `<urn:uuid:…>` → `urn:uuid:…`.
    static func bareInstance(_ value: String) -> String {
        var text = Substring(value)
        if text.first == "<", text.last == ">" { text = text.dropFirst().dropLast() }
        return String(text)
    }
}

extension SIPParameters {
    /// An expiry in seconds: a number up to 2³²−1, or −1 when it is not one.
    static func parseExpires(_ text: Substring) -> Int64 {
        var digits = text.utf8.drop { $0 == UInt8(ascii: " ") }
        guard !digits.isEmpty, digits.count <= 10 else { return -1 }
        var value: Int64 = 0
        while let byte = digits.popFirst() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return -1 }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return value <= Int64(UInt32.max) ? value : -1
    }
}
