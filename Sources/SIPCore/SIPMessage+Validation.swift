/// The checks a receiving server applies before it acts on a message (RFC 3261 §8.2, §16.3,
/// RFC 4475 §3.1.2).
extension SIPMessage {
    /// What validation accepts.
    public struct ValidationOptions: Sendable {
        /// Methods this element implements; a CSeq mismatch on any other method is a 501.
        public var knownMethods: Set<String>

        /// The RFC 3261 methods and the common extensions (PRACK, SUBSCRIBE, NOTIFY, PUBLISH,
        /// INFO, REFER, MESSAGE, UPDATE).
        public init(knownMethods: Set<String> = [
            "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY",
            "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
        ]) {
            self.knownMethods = knownMethods
        }
    }

    /// Checks the message and returns the irregularities it tolerated.
    ///
    /// - Throws: ``SIPParseError`` with the status a server answers (400, 501, 505) for a bad
    ///   request, or with `status == nil` for a bad response, which is dropped.
    public func validate(_ options: ValidationOptions = ValidationOptions()) throws(SIPParseError) -> [String] {
        try checked(options).warnings
    }

    /// ``validate(_:)``, keeping what it parsed (Via, CSeq, From, To, Contact) so the typed
    /// accessors return it without parsing again until a header changes.
    public mutating func validateKeepingViews(_ options: ValidationOptions = ValidationOptions()) throws(SIPParseError) -> [String] {
        let (warnings, views) = try checked(options)
        self.views = views
        return warnings
    }

    private func checked(_ options: ValidationOptions) throws(SIPParseError) -> (warnings: [String], views: HeaderViews) {
        var warnings = parseWarnings
        do {
            try checkStartLine(options, warnings: &warnings)
            try checkMandatoryHeaders(warnings: &warnings)
            let views = try checkHeaderValues(warnings: &warnings)
            try checkCSeqMethod(options, cseq: views.cseq)
            return (warnings, views)
        } catch {
            throw isRequest ? error : error.dropped
        }
    }

    private func checkStartLine(_ options: ValidationOptions, warnings: inout [String]) throws(SIPParseError) {
        switch startLine {
        case .request(let line):
            guard line.version == "SIP/2.0" else {
                throw SIPParseError(.unsupportedVersion, status: 505, reasonPhrase: "Version Not Supported",
                                    detail: "\(line.version) is not supported; this server speaks SIP/2.0")
            }
            guard line.uri.utf8.first != UInt8(ascii: "<") else {
                throw .badRequest(.badRequestURI, "the Request-URI must not be enclosed in <>")
            }
            guard !line.uri.utf8.contains(where: { $0 <= 0x20 }) else {
                throw .badRequest(.badRequestURI, "the Request-URI contains whitespace")
            }
            let uri: SIPURI
            do {
                uri = try SIPURI(parsing: line.uri)
            } catch {
                throw .badRequest(.badRequestURI, error.detail)
            }
            guard uri.headers == nil || !uri.isSIP else {
                throw .badRequest(.badRequestURI, "the Request-URI must not contain headers (RFC 3261 §19.1.5)")
            }
        case .response(let line):
            guard line.version == "SIP/2.0" else {
                throw .badRequest(.unsupportedVersion, "\(line.version) is not SIP/2.0")
            }
        }
    }

    private func checkMandatoryHeaders(warnings: inout [String]) throws(SIPParseError) {
        // One pass counting the header lines the checks below need.
        var counts = [Int](repeating: 0, count: KnownSIPHeader.allCases.count)
        headers.forEachKnownField { counts[Int($0.rawValue)] &+= 1 }
        // RFC 3261 §8.1.1: To, From, CSeq, Call-ID and Via are mandatory; Max-Forwards too,
        // but a liberal receiver forwards without it.
        for name in Self.mandatory where counts[Int(name.rawValue)] == 0 {
            throw .badRequest(.missingHeader, "missing \(name.canonicalName) header")
        }
        for name in Self.single where counts[Int(name.rawValue)] > 1 {
            throw .badRequest(.badHeaderValue, "more than one \(name.canonicalName) header")
        }
        if isRequest && counts[Int(KnownSIPHeader.maxForwards.rawValue)] == 0 {
            warnings.append("no Max-Forwards header")
        }
        guard let callID = headers[.callID], !callID.isEmpty else {
            throw .badRequest(.badHeaderValue, "empty Call-ID")
        }
    }

    private static let mandatory: [KnownSIPHeader] = [.via, .from, .to, .callID, .cseq]
    private static let single: [KnownSIPHeader] = [.from, .to, .callID, .cseq, .maxForwards, .contentLength, .expires]

    private func checkHeaderValues(warnings: inout [String]) throws(SIPParseError) -> HeaderViews {
        let vias = try vias()
        let cseq = try cseq()
        let addresses = try [SIPHeaderName.from, .to].map { name throws(SIPParseError) in
            let address = try NameAddress(parsing: headers[name]!, header: name)
            if address.hasSpacesInsideBrackets {
                warnings.append("whitespace inside <> in \(name.canonical)")
            }
            return address
        }
        let contactValues = try headers.values(.contact)
        var contacts: [NameAddress]?
        if !contactValues.contains("*") {
            contacts = try contactValues.map { value throws(SIPParseError) in
                let contact = try NameAddress(parsing: value, header: .contact)
                if let expires = contact.parameters["expires"],
                   SIPText.parseNumber(expires, maximum: UInt64(UInt32.max)) == nil {
                    throw .badRequest(.badHeaderValue, "Contact expires=\(expires) is not a 32-bit number")
                }
                return contact
            }
        }
        for name in [SIPHeaderName.route, .recordRoute, .path] {
            _ = try nameAddresses(name)
        }
        if let value = headers[.maxForwards], maxForwards == nil {
            throw .badRequest(.badHeaderValue, "Max-Forwards \(value) is not a number from 0 to 255")
        }
        if let value = headers[.expires], expires == nil {
            throw .badRequest(.badHeaderValue, "Expires \(value.prefix(40)) is not a 32-bit number")
        }
        if let date = headers[.date], !date.hasSuffix("GMT") {
            warnings.append("Date is not in GMT (RFC 3261 §20.17)")
        }
        return HeaderViews(vias: vias, cseq: cseq, from: addresses[0], to: addresses[1], contacts: contacts)
    }

    private func checkCSeqMethod(_ options: ValidationOptions, cseq: CSeq) throws(SIPParseError) {
        guard let line = requestLine else { return }
        let cseqMethod = cseq.method
        guard cseqMethod != line.method else { return }
        if !options.knownMethods.contains(line.method) {
            throw SIPParseError(.methodMismatch, status: 501, reasonPhrase: "Not Implemented",
                                detail: "method \(line.method) is not implemented (CSeq says \(cseqMethod))")
        }
        throw .badRequest(.methodMismatch, "CSeq method \(cseqMethod) does not match the request method \(line.method)")
    }
}
