import NIOCore
import SIPCore

/// The registrations a core has carried (`xstatus Registrations`): learnt from the 2xx answers
/// to the REGISTERs it relayed, kept until they lapse or are removed.
extension CoreStateMachine {
    struct Carried {
        var listing: RegistrationListing
        var at: NIODeadline
    }

    /// A REGISTER relayed to `registrar` from the edge of link `link` was answered 2xx at `now`:
    /// its contacts are replaced by what the answer granted.
    mutating func noteRegistered(_ request: SIPMessage, _ response: SIPMessage, registrar: String, link: Int?, now: NIODeadline) {
        let asked = ContactRewrite.restoringContacts(request)
        let aor = (try? asked.to()).map { String($0.uriText) } ?? ""
        if asked.isWildcardContact {
            // `Contact: *` with Expires 0 removes every binding of the AOR (RFC 3261 §10.2.2).
            carried = carried.filter { $0.value.listing.aor != aor }
        }
        for contact in (try? asked.contacts()) ?? [] {
            carried[Self.key(aor: aor, contact)] = nil
        }
        let edge = link.flatMap { links[$0]?.info?.node }
        for var listing in RegistrationListing.granted(asked, ContactRewrite.restoringContacts(response)) {
            listing.edge = edge
            listing.registrars = configuration.registrarsShareBindings ? configuration.registrars.map(\.name) : [registrar]
            carried[Self.key(listing)] = Carried(listing: listing, at: now)
        }
        carriedUpdates &+= 1
        if carriedUpdates % 1_024 == 0 { carried = carried.filter { Self.remaining($0.value, now: now) > 0 } }
    }

    /// The registrations carried, unexpired at `now`, by AOR.
    public func registrations(now: NIODeadline) -> [RegistrationListing] {
        carried.values.compactMap { entry in
            var listing = entry.listing
            listing.expiresIn = Self.remaining(entry, now: now)
            return listing.expiresIn > 0 ? listing : nil
        }.sorted { ($0.aor, $0.contact) < ($1.aor, $1.contact) }
    }

    private static func remaining(_ entry: Carried, now: NIODeadline) -> Int {
        entry.listing.expiresIn - Int((now - entry.at).nanoseconds / 1_000_000_000)
    }

    /// A binding's key as RFC 5626 §6 and RFC 3261 §10.3 make it: instance and reg-id, else the Contact.
    private static func key(_ listing: RegistrationListing) -> String {
        [listing.aor, listing.instance.map { "\($0);\(listing.regID ?? 0)" } ?? listing.contact].joined(separator: " ")
    }

    private static func key(aor: String, _ contact: NameAddress) -> String {
        let instance = contact.parameters["+sip.instance"].map(RegistrationListing.instance)
        let regID = RegistrationListing.regID(contact)
        return [aor, instance.map { "\($0);\(regID ?? 0)" } ?? String(contact.uriText)].joined(separator: " ")
    }
}
