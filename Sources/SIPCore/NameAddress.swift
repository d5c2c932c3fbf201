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
        let layout = try SIPText.withBytes(text) { bytes throws(SIPParseError) in try Layout(bytes, text: text, header: header) }
        leadingText = SIPText.slice(text, 0, layout.leadingEnd)
        uriText = SIPText.slice(text, layout.uri.lowerBound, layout.uri.upperBound)
        hasAngleBrackets = layout.hasAngleBrackets
        uri = try SIPURI(parsing: SIPText.slice(text, layout.trimmedURI.lowerBound, layout.trimmedURI.upperBound))
        parameters = try SIPParameters(parsing: SIPText.slice(text, layout.parametersStart, text.utf8.count), grammar: .header,
                                       context: "\(header.canonical) \"\(text)\"")
    }

    /// Where the parts of a name-addr are, as byte offsets, found in one pass over its bytes.
    private struct Layout {
        /// The end of the display name (with the whitespace after it).
        var leadingEnd = 0
        /// The URI between `<` and `>`, or the whole addr-spec.
        var uri: Range<Int>
        /// `uri` without surrounding whitespace.
        var trimmedURI: Range<Int>
        var hasAngleBrackets: Bool
        var parametersStart: Int

        init(_ bytes: UnsafeBufferPointer<UInt8>, text: Substring, header: SIPHeaderName) throws(SIPParseError) {
            func fail(_ why: String) -> SIPParseError {
                .badRequest(.badHeaderValue, "\(why) in \(header.canonical) \"\(text)\"")
            }
            func first(_ byte: UInt8, from start: Int) -> Int? {
                var index = start
                while index < bytes.count {
                    if bytes[index] == byte { return index }
                    index &+= 1
                }
                return nil
            }
            let count = bytes.count
            if count > 0, bytes[0] == UInt8(ascii: "\"") {
                guard var cursor = SIPText.endOfQuotedString(bytes, from: 0) else { throw fail("unterminated quoted display name") }
                while cursor < count, SIPText.isWhitespace(bytes[cursor]) { cursor &+= 1 }
                guard cursor < count, bytes[cursor] == UInt8(ascii: "<") else { throw fail("display name not followed by <URI>") }
                leadingEnd = cursor
            } else if let open = first(UInt8(ascii: "<"), from: 0) {
                for index in 0..<open {
                    let byte = bytes[index]
                    guard SIPText.isToken(byte) || SIPText.isWhitespace(byte) || byte >= 0x80 else {
                        throw fail("display name with special characters must be quoted")
                    }
                }
                leadingEnd = open
            }
            var after: Int
            if leadingEnd < count, bytes[leadingEnd] == UInt8(ascii: "<") {
                let start = leadingEnd &+ 1
                guard let close = first(UInt8(ascii: ">"), from: start) else { throw fail("missing >") }
                uri = start..<close
                hasAngleBrackets = true
                after = close &+ 1
            } else {
                var end = 0
                while end < count, bytes[end] != UInt8(ascii: ";"), !SIPText.isWhitespace(bytes[end]) {
                    guard bytes[end] != UInt8(ascii: "?"), bytes[end] != UInt8(ascii: ",") else {
                        throw fail("a URI with headers or commas must be enclosed in <>")
                    }
                    end &+= 1
                }
                uri = 0..<end
                hasAngleBrackets = false
                after = end
            }
            var lower = uri.lowerBound
            var upper = uri.upperBound
            while lower < upper, SIPText.isWhitespace(bytes[lower]) { lower &+= 1 }
            while upper > lower, SIPText.isWhitespace(bytes[upper &- 1]) { upper &-= 1 }
            trimmedURI = lower..<upper
            while after < count, bytes[after] == UInt8(ascii: " ") || bytes[after] == UInt8(ascii: "\t") { after &+= 1 }
            parametersStart = after
        }
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
