/// A `name-addr` or `addr-spec` with header parameters, as in From, To, Contact, Route,
/// Record-Route and Path (RFC 3261 §20.10, §25.1).
///
/// The display name and the URI are kept as written, so editing one parameter and serializing
/// changes nothing else.
public struct NameAddress: Hashable, Sendable, CustomStringConvertible {
    /// Text before `<` as written: a quoted string or tokens, with the whitespace that followed.
    public var leadingText: Substring
    /// The URI text as written between `<` and `>` (or the whole addr-spec).
    public private(set) var uriText: Substring
    /// Whether the URI was enclosed in `<…>`.
    public private(set) var hasAngleBrackets: Bool
    /// The header parameters after the URI (`tag`, `expires`, `+sip.instance`, …).
    public var parameters: SIPParameters
    /// The parsed URI.
    public var uri: SIPURI {
        didSet {
            uriText = Substring(uri.description)
            hasAngleBrackets = true
        }
    }

    /// Creates a name-addr `"Display" <uri>;params`.
    public init(displayName: String? = nil, uri: SIPURI, parameters: SIPParameters = SIPParameters()) {
        if let displayName {
            var quoted = "\""
            for character in displayName {
                if character == "\"" || character == "\\" { quoted.append("\\") }
                quoted.append(character)
            }
            quoted.append("\" ")
            leadingText = Substring(quoted)
        } else {
            leadingText = ""
        }
        self.uri = uri
        uriText = Substring(uri.description)
        hasAngleBrackets = true
        self.parameters = parameters
    }

    /// The display name with quotes and escapes removed, or `nil` when there is none.
    public var displayName: String? {
        let trimmed = SIPText.trim(leadingText)
        return trimmed.isEmpty ? nil : SIPText.unquote(trimmed)
    }

    /// Whether the text inside `<…>` had whitespace around the URI (RFC 4475 §3.1.2.14).
    public var hasSpacesInsideBrackets: Bool {
        SIPText.trim(uriText).utf8.count != uriText.utf8.count
    }

    /// Parses one name-addr or addr-spec with its parameters.
    public init(parsing value: some StringProtocol, header: SIPHeaderName = "Contact") throws(SIPParseError) {
        let text = SIPText.trim(Substring(value))
        let utf8 = text.utf8
        func fail(_ why: String) -> SIPParseError {
            .badRequest(.badHeaderValue, "\(why) in \(header.canonical) \"\(text)\"")
        }
        var cursor = utf8.startIndex
        if utf8.first == UInt8(ascii: "\"") {
            guard let end = SIPText.endOfQuotedString(text, from: cursor) else { throw fail("unterminated quoted display name") }
            cursor = end
            while cursor < utf8.endIndex, SIPText.isWhitespace(utf8[cursor]) { cursor = utf8.index(after: cursor) }
            guard cursor < utf8.endIndex, utf8[cursor] == UInt8(ascii: "<") else {
                throw fail("display name not followed by <URI>")
            }
        } else if let open = utf8.firstIndex(of: UInt8(ascii: "<")) {
            let tokens = text[..<open]
            guard tokens.utf8.allSatisfy({ SIPText.isToken($0) || SIPText.isWhitespace($0) || $0 >= 0x80 }) else {
                throw fail("display name with special characters must be quoted")
            }
            cursor = open
        }
        leadingText = text[..<cursor]
        let afterURI: Substring.Index
        if cursor < utf8.endIndex, utf8[cursor] == UInt8(ascii: "<") {
            let uriStart = utf8.index(after: cursor)
            guard let close = text[uriStart...].utf8.firstIndex(of: UInt8(ascii: ">")) else { throw fail("missing >") }
            uriText = text[uriStart..<close]
            hasAngleBrackets = true
            afterURI = utf8.index(after: close)
        } else {
            let end = utf8.firstIndex { $0 == UInt8(ascii: ";") || SIPText.isWhitespace($0) } ?? utf8.endIndex
            uriText = text[..<end]
            guard !uriText.utf8.contains(UInt8(ascii: "?")), !uriText.utf8.contains(UInt8(ascii: ",")) else {
                throw fail("a URI with headers or commas must be enclosed in <>")
            }
            hasAngleBrackets = false
            afterURI = end
        }
        uri = try SIPURI(parsing: SIPText.trim(uriText))
        var rest = text[afterURI...]
        rest = rest.drop { $0 == " " || $0 == "\t" }
        parameters = try SIPParameters(parsing: rest, grammar: .header, context: "\(header.canonical) \"\(text)\"")
    }

    /// The name-addr as it would be written in a header.
    public var description: String {
        var output = String(leadingText)
        if hasAngleBrackets {
            output.append("<")
            output.append(contentsOf: uriText)
            output.append(">")
        } else {
            output.append(contentsOf: uriText)
        }
        parameters.write(to: &output)
        return output
    }
}
