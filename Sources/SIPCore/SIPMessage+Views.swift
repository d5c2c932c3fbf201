/// The header fields validation parsed, kept with the message until a header changes; a
/// class so that reading one costs a reference, not a copy of every field.
final class HeaderViews: Sendable {
    let vias: [Via]
    let cseq: CSeq
    let from: NameAddress
    let to: NameAddress
    /// `nil` for `Contact: *`.
    let contacts: [NameAddress]?

    init(vias: [Via], cseq: CSeq, from: NameAddress, to: NameAddress, contacts: [NameAddress]?) {
        self.vias = vias
        self.cseq = cseq
        self.from = from
        self.to = to
        self.contacts = contacts
    }

    /// The same views with a different top Via.
    func replacingTopVia(_ via: Via) -> HeaderViews {
        var vias = vias
        vias[0] = via
        return HeaderViews(vias: vias, cseq: cseq, from: from, to: to, contacts: contacts)
    }
}

/// Typed views of the common header fields, parsed on demand (or kept from validation).
extension SIPMessage {
    /// The Call-ID.
    public var callID: Substring? { headers[.callID] }

    /// The CSeq header.
    public func cseq() throws(SIPParseError) -> CSeq {
        if let views { return views.cseq }
        guard let value = headers[.cseq] else { throw .badRequest(.missingHeader, "missing CSeq") }
        return try CSeq(parsing: value)
    }

    /// Every Via, top first.
    public func vias() throws(SIPParseError) -> [Via] {
        if let views { return views.vias }
        var result: [Via] = []
        for value in try headers.values(.via) { result.append(try Via(parsing: value)) }
        return result
    }

    /// The topmost Via.
    public func topVia() throws(SIPParseError) -> Via {
        if let first = views?.vias.first { return first }
        guard let first = try headers.values(.via).first else { throw .badRequest(.missingHeader, "missing Via") }
        return try Via(parsing: first)
    }

    /// The From header.
    public func from() throws(SIPParseError) -> NameAddress {
        if let views { return views.from }
        return try nameAddress(.from)
    }

    /// The To header.
    public func to() throws(SIPParseError) -> NameAddress {
        if let views { return views.to }
        return try nameAddress(.to)
    }

    /// Every Contact (a `*` Contact is not a name-addr and yields an error here; check
    /// `isWildcardContact` first).
    public func contacts() throws(SIPParseError) -> [NameAddress] {
        if let contacts = views?.contacts { return contacts }
        return try nameAddresses(.contact)
    }

    /// Whether the message has `Contact: *` (RFC 3261 §10.2.2).
    public var isWildcardContact: Bool {
        if views?.contacts != nil { return false }
        return (try? headers.values(.contact))?.contains("*") ?? false
    }

    /// Every value of a list header of name-addrs (Route, Record-Route, Path, Contact).
    public func nameAddresses(_ name: SIPHeaderName) throws(SIPParseError) -> [NameAddress] {
        var result: [NameAddress] = []
        for value in try headers.values(name) { result.append(try NameAddress(parsing: value, header: name)) }
        return result
    }

    /// The Request-URI, parsed.
    public func requestURI() throws(SIPParseError) -> SIPURI? {
        guard let line = requestLine else { return nil }
        return try SIPURI(parsing: line.uri)
    }

    /// The Content-Length value, if present and valid.
    public var contentLength: Int? {
        headers[.contentLength].flatMap { SIPText.parseNumber(SIPText.trim($0), maximum: UInt64(Int32.max)) }.map(Int.init)
    }

    /// Expires as a number of seconds, if present and valid.
    public var expires: UInt32? {
        headers[.expires].flatMap { SIPText.parseNumber(SIPText.trim($0), maximum: UInt64(UInt32.max)) }.map(UInt32.init)
    }

    /// Max-Forwards, if present and valid (0–255).
    public var maxForwards: Int? {
        headers[.maxForwards].flatMap { SIPText.parseNumber(SIPText.trim($0), maximum: 255) }.map(Int.init)
    }

    /// The option tags listed in every header with this name (Supported, Require, …), compared
    /// case-insensitively by `hasOptionTag`.
    public func optionTags(_ name: SIPHeaderName) -> [Substring] {
        (try? headers.values(name)) ?? []
    }

    /// Whether an option tag is listed in a header (case-insensitive).
    public func hasOptionTag(_ tag: String, in name: SIPHeaderName) -> Bool {
        optionTags(name).contains { $0.caseInsensitiveEquals(tag) }
    }

    private func nameAddress(_ name: SIPHeaderName) throws(SIPParseError) -> NameAddress {
        guard let value = headers[name] else { throw .badRequest(.missingHeader, "missing \(name.canonical)") }
        return try NameAddress(parsing: value, header: name)
    }
}
