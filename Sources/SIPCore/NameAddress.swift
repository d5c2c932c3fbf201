/// A `name-addr` or `addr-spec` with header parameters, as in From, To, Contact, Route,
/// Record-Route and Path (RFC 3261 §20.10, §25.1).
///
/// The display name and the URI are kept as written, so editing one parameter and serializing
/// changes nothing else. A parsed name-addr, its URI and its parameters share the text they were
/// parsed from and keep byte offsets into it: parsing makes no strings, and a part becomes a
/// `Substring` when it is read.
public struct NameAddress: Hashable, Sendable, CustomStringConvertible {
    /// The name-addr's text; the display name and URI are at `layout`'s offsets.
    private var text: Substring
    private var layout: Layout
    /// The header parameters after the URI (`tag`, `expires`, `+sip.instance`, …).
    public var parameters: SIPParameters
    /// The parsed URI.
    public var uri: SIPURI {
        didSet { rewrite(leadingText: leadingText, uriText: Substring(uri.description), hasAngleBrackets: true) }
    }

    /// Text before `<` as written: a quoted string or tokens, with the whitespace that followed.
    public var leadingText: Substring {
        get { SIPText.slice(text, 0, Int(layout.leadingEnd)) }
        set { rewrite(leadingText: newValue, uriText: uriText, hasAngleBrackets: hasAngleBrackets) }
    }
    /// The URI text as written between `<` and `>` (or the whole addr-spec).
    public var uriText: Substring { SIPText.slice(text, layout.uri) }
    /// Whether the URI was enclosed in `<…>`.
    public var hasAngleBrackets: Bool { layout.hasAngleBrackets }

    /// Creates a name-addr `"Display" <uri>;params`.
    public init(displayName: String? = nil, uri: SIPURI, parameters: SIPParameters = SIPParameters()) {
        var leading = ""
        if let displayName {
            leading = "\""
            for character in displayName {
                if character == "\"" || character == "\\" { leading.append("\\") }
                leading.append(character)
            }
            leading.append("\" ")
        }
        self.uri = uri
        self.parameters = parameters
        text = ""
        layout = Layout()
        rewrite(leadingText: Substring(leading), uriText: Substring(uri.description), hasAngleBrackets: true)
    }

    /// Writes the display name and URI out again after one of them changed.
    private mutating func rewrite(leadingText: Substring, uriText: Substring, hasAngleBrackets: Bool) {
        var output = String(leadingText)
        let leadingEnd = output.utf8.count
        if hasAngleBrackets { output.append("<") }
        let uriStart = output.utf8.count
        output.append(contentsOf: uriText)
        let uriEnd = output.utf8.count
        if hasAngleBrackets { output.append(">") }
        text = Substring(output)
        layout = Layout(leadingEnd: Int32(leadingEnd), uri: TextSpan(uriStart..<uriEnd), hasAngleBrackets: hasAngleBrackets,
                        addressEnd: Int32(output.utf8.count),
                        hasSpacesInsideBrackets: SIPText.trim(uriText).utf8.count != uriText.utf8.count)
    }

    public static func == (lhs: NameAddress, rhs: NameAddress) -> Bool {
        lhs.leadingText == rhs.leadingText && lhs.uriText == rhs.uriText && lhs.hasAngleBrackets == rhs.hasAngleBrackets
            && lhs.parameters == rhs.parameters && lhs.uri == rhs.uri
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(leadingText)
        hasher.combine(uriText)
        hasher.combine(hasAngleBrackets)
        hasher.combine(parameters)
        hasher.combine(uri)
    }

    /// The display name with quotes and escapes removed, or `nil` when there is none.
    public var displayName: String? {
        let trimmed = SIPText.trim(leadingText)
        return trimmed.isEmpty ? nil : SIPText.unquote(trimmed)
    }

    /// Whether the text inside `<…>` had whitespace around the URI (RFC 4475 §3.1.2.14).
    public var hasSpacesInsideBrackets: Bool {
        layout.hasSpacesInsideBrackets
    }

    /// Parses one name-addr or addr-spec with its parameters.
    public init(parsing value: some StringProtocol, header: SIPHeaderName = "Contact") throws(SIPParseError) {
        let text = SIPText.trim(value.substring)
        let found = try SIPText.withBytes(text) { bytes throws(SIPParseError) in try Found(bytes, text: text, header: header) }
        self.text = text
        layout = found.layout
        uri = try SIPURI(parsing: text, from: found.trimmedURI.lowerBound, to: found.trimmedURI.upperBound)
        parameters = try SIPParameters(parsing: text, from: found.parametersStart, to: text.utf8.count, grammar: .header,
                                       context: "\(header.canonical) \"\(text)\"")
    }

    /// Where the display name and URI are in `text`.
    private struct Layout: Sendable {
        /// The end of the display name (with the whitespace after it).
        var leadingEnd: Int32 = 0
        /// The URI between `<` and `>`, or the whole addr-spec.
        var uri = TextSpan(0..<0)
        var hasAngleBrackets = false
        /// Just past `>` (or the addr-spec): `text` up to here is the display name and URI as written.
        var addressEnd: Int32 = 0
        var hasSpacesInsideBrackets = false
    }

    /// Where the parts of a name-addr are, as byte offsets, found in one pass over its bytes.
    private struct Found {
        /// The end of the display name (with the whitespace after it).
        var leadingEnd = 0
        /// The URI between `<` and `>`, or the whole addr-spec.
        var uri: Range<Int>
        /// `uri` without surrounding whitespace.
        var trimmedURI: Range<Int>
        var hasAngleBrackets: Bool
        /// Just past `>`, or the end of the addr-spec.
        var addressEnd: Int
        var parametersStart: Int

        var layout: Layout {
            Layout(leadingEnd: Int32(leadingEnd), uri: TextSpan(uri), hasAngleBrackets: hasAngleBrackets,
                   addressEnd: Int32(addressEnd), hasSpacesInsideBrackets: trimmedURI.count != uri.count)
        }

        /// The `<` of a name-addr whose display name is not quoted: before any `;`. In an
        /// addr-spec every `;` starts a header parameter (RFC 3261 §20.10), whose quoted value
        /// may hold `<` (§25.1), so a `<` after the first `;` is not an opening bracket.
        static func openingBracket(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
            for index in bytes.indices {
                switch bytes[index] {
                case UInt8(ascii: "<"): return index
                case UInt8(ascii: ";"): return nil
                default: continue
                }
            }
            return nil
        }

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
            } else if let open = Self.openingBracket(bytes) {
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
            addressEnd = after
            while after < count, bytes[after] == UInt8(ascii: " ") || bytes[after] == UInt8(ascii: "\t") { after &+= 1 }
            parametersStart = after
        }
    }

    /// The name-addr as it would be written in a header.
    public var description: String {
        var writer = TextWriter(capacity: text.utf8.count + 32)
        writer.append(text, 0, Int(layout.addressEnd))
        parameters.write(to: &writer)
        return writer.string
    }
}
