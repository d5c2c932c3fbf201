import SIPCore

/// One registration as `xstatus Registrations` lists it on any role: what the registrar's
/// binding holds (RFC 3261 §10.3, RFC 5626 §6), and what the edge knows of the flow.
public struct RegistrationListing: Sendable, Equatable {
    /// The address of record, e.g. `sip:alice@example.com`.
    public var aor: String
    /// The phone's device name (a Cisco soft phone's `+u.sip!devicename` Contact parameter), else
    /// its User-Agent, when it sent either.
    public var device: String?
    /// The `+sip.instance` and `reg-id` of the Contact, when it has them.
    public var instance: String?
    public var regID: Int?
    /// The Contact URI as the phone registered it.
    public var contact: String
    /// The edge it registered through, and at the edge the phone's connection (`tls 192.0.2.7:50123`).
    public var edge: String?
    public var flow: String?
    /// The registrars holding the binding, as the core said (several in a cluster).
    public var registrars: [String]
    /// Seconds until the binding lapses.
    public var expiresIn: Int
    /// Whether the last 200 OK granted AR_SK (STUN keepalives answered on the flow; SPEC B4).
    public var arsk: Bool?
    /// Seconds since the edge last answered a STUN keepalive on the flow.
    public var lastKeepalive: Int?
    /// The flow's smoothed TCP round-trip time (the kernel's) when the edge last answered its keepalive.
    public var keepaliveRTT: Duration?

    /// Creates a listing.
    public init(aor: String, device: String?, instance: String?, regID: Int?, contact: String, edge: String? = nil, flow: String? = nil,
                registrars: [String] = [], expiresIn: Int, arsk: Bool? = nil, lastKeepalive: Int? = nil) {
        self.aor = aor
        self.device = device
        self.instance = instance
        self.regID = regID
        self.contact = contact
        self.edge = edge
        self.flow = flow
        self.registrars = registrars
        self.expiresIn = expiresIn
        self.arsk = arsk
        self.lastKeepalive = lastKeepalive
    }

    /// The registrations a REGISTER's 2xx granted, with their expiry in seconds (RFC 3261
    /// §10.2.4: the `expires` parameter of the matching Contact in the 200 OK, else its Expires
    /// header, else what was asked). Contacts removed (expiry 0) are not listed.
    static func granted(_ request: SIPMessage, _ response: SIPMessage) -> [RegistrationListing] {
        guard let to = try? request.to(), let contacts = try? request.contacts() else { return [] }
        let answered = (try? response.contacts()) ?? []
        let userAgent = request.headers[.userAgent].map(String.init)
        return contacts.compactMap { contact in
            let instance = contact.parameters["+sip.instance"].map(Self.instance)
            let regID = Self.regID(contact)
            let device = Self.deviceName(of: contact) ?? userAgent
            let match = answered.first { $0.uri == contact.uri }
                ?? answered.first { instance != nil && $0.parameters["+sip.instance"].map(Self.instance) == instance && Self.regID($0) == regID }
            let seconds = match?.parameters["expires"].flatMap { Int($0) }
                ?? response.expires.map(Int.init) ?? contact.parameters["expires"].flatMap { Int($0) } ?? request.expires.map(Int.init)
            guard let seconds, seconds > 0, match != nil || answered.isEmpty else { return nil }
            return RegistrationListing(aor: String(to.uriText), device: device, instance: instance, regID: regID,
                                       contact: String(contact.uriText), expiresIn: seconds)
        }
    }

    /// A Cisco soft phone's device name, its Contact's `+u.sip!devicename.ccm.cisco.com` (`CSFALICE`).
    public static func deviceName(of contact: NameAddress) -> String? {
        contact.parameters["+u.sip!devicename.ccm.cisco.com"].map { String($0.filter { $0 != "\"" }) }
    }

    /// The `reg-id` (RFC 5626 §4.2), or the `x-cisco-reg-id` Cisco soft phones send instead.
    static func regID(_ contact: NameAddress) -> Int? {
        (contact.parameters["reg-id"] ?? contact.parameters["x-cisco-reg-id"]).flatMap { Int($0) }
    }

    /// A `+sip.instance` value without its quotes and angle brackets, as the registrar keeps it.
    static func instance(_ value: Substring) -> String {
        String(value.filter { !"\"<>".contains($0) })
    }

    /// Whether the registration is `user`'s: `alice`, `alice@example.com` or `sip:alice@example.com`
    /// (the host without regard to case).
    public func belongs(to user: String) -> Bool {
        let wanted = user.hasPrefix("sip:") || user.hasPrefix("sips:") ? String(user.drop { $0 != ":" }.dropFirst()) : user
        let own = String(aor.drop { $0 != ":" }.dropFirst())
        guard wanted.contains("@") else { return own.split(separator: "@").first.map(String.init) == wanted }
        let (ownUser, ownHost) = (own.prefix { $0 != "@" }, own.drop { $0 != "@" })
        let (wantedUser, wantedHost) = (wanted.prefix { $0 != "@" }, wanted.drop { $0 != "@" })
        return ownUser == wantedUser && ownHost.lowercased() == wantedHost.lowercased()
    }
}

extension StatusLine {
    /// `Registrations Count` (`total`, all there are) and, per registration listed, its AOR,
    /// device, instance, reg-id, contact, edge, flow, registrars, expiry, AR_SK and last keepalive
    /// (those the role knows); `Registrations Shown` when fewer are listed than there are.
    public static func registrations(_ listings: [RegistrationListing], total: Int) -> [StatusLine] {
        var lines = [StatusLine("Registrations Count", String(max(total, listings.count)))]
        if total > listings.count { lines.append(StatusLine("Registrations Shown", "\(listings.count), the first by AOR")) }
        for (index, listing) in listings.enumerated() {
            let prefix = "Registrations Registration \(index + 1)"
            var fields: [(String, String?)] = [("AOR", quoted(listing.aor)), ("Device", listing.device.map(quoted)),
                                               ("Instance", listing.instance.map(quoted)), ("RegId", listing.regID.map(String.init)),
                                               ("Contact", quoted(listing.contact)), ("Edge", listing.edge.map(quoted)),
                                               ("Flow", listing.flow.map(quoted))]
            fields.append(("Registrars", listing.registrars.isEmpty ? nil : quoted(listing.registrars.joined(separator: ", "))))
            fields.append(("ExpiresIn", "\(listing.expiresIn) s"))
            fields.append(("ARSK", listing.arsk.map { $0 ? "On" : "Off" }))
            fields.append(("LastKeepalive", listing.lastKeepalive.map { "\($0) s ago" }))
            fields.append(("KeepaliveRTT", listing.keepaliveRTT.map(Self.milliseconds)))
            lines += fields.compactMap { name, value in value.map { StatusLine("\(prefix) \(name)", $0) } }
        }
        return lines
    }

    /// `0.052 ms`: microsecond precision.
    private static func milliseconds(_ duration: Duration) -> String {
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        let fraction = String(micros % 1_000)
        return "\(micros / 1_000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) ms"
    }

    private static func quoted(_ text: String) -> String {
        "\"\(text.replacingOccurrences(of: "\"", with: "'"))\""
    }
}
