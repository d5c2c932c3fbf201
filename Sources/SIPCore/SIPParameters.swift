/// One `;name=value` parameter. The value is kept exactly as written, quotes included, so that
/// unknown parameters such as `+sip.instance="<urn:uuid:…>"` survive a round trip byte for byte.
public struct SIPParameter: Hashable, Sendable {
    /// The parameter name as written.
    public var name: Substring
    /// The raw value (quotes kept), or `nil` for a parameter without `=` such as `lr` or `video`.
    public var value: Substring?

    /// Creates a parameter.
    public init(name: some StringProtocol, value: (some StringProtocol)?) {
        self.name = Substring(name)
        self.value = value.map { Substring($0) }
    }
}

/// An ordered list of parameters, looked up case-insensitively by name (RFC 3261 §7.3.1, §19.1.4).
public struct SIPParameters: Hashable, Sendable, RandomAccessCollection {
    var items: [SIPParameter]

    /// Creates an empty list.
    public init() { items = [] }

    public var startIndex: Int { items.startIndex }
    public var endIndex: Int { items.endIndex }
    public subscript(position: Int) -> SIPParameter { items[position] }

    /// The raw value of a parameter: `nil` when absent, `""` when present without a value.
    public subscript(name: String) -> Substring? {
        guard let item = items.first(where: { Self.sameName($0.name, name) }) else { return nil }
        return item.value ?? ""
    }

    /// Whether the parameter is present, with or without a value.
    public func contains(_ name: String) -> Bool {
        items.contains { Self.sameName($0.name, name) }
    }

    /// The value with surrounding quotes and quoted-pair escapes removed.
    public func unquoted(_ name: String) -> String? {
        self[name].map { SIPText.unquote($0) }
    }

    /// Sets a parameter's raw value in place, keeping its position, or appends it.
    /// Pass `nil` for a parameter without a value.
    public mutating func set(_ name: String, _ value: String?) {
        let newValue = value.map { Substring($0) }
        if let index = items.firstIndex(where: { Self.sameName($0.name, name) }) {
            items[index].value = newValue
        } else {
            items.append(SIPParameter(name: Substring(name), value: newValue))
        }
    }

    /// Removes a parameter.
    public mutating func remove(_ name: String) {
        items.removeAll { Self.sameName($0.name, name) }
    }

    /// Appends `;name=value` for each parameter.
    public func write(to output: inout String) {
        for item in items {
            output.append(";")
            output.append(contentsOf: item.name)
            if let value = item.value {
                output.append("=")
                output.append(contentsOf: value)
            }
        }
    }

    static func sameName(_ lhs: Substring, _ rhs: String) -> Bool {
        lhs.utf8.elementsEqual(rhs.utf8) { $0.asciiLowercased == $1.asciiLowercased }
    }
}

extension SIPParameters {
    /// Which grammar the parameters follow: header parameters allow whitespace around `;` and `=`
    /// and quoted values; URI parameters allow neither and end at `?`.
    enum Grammar {
        case header
        case uri
    }

    /// Parses `;a=b;c` from the start of `text`, which must be empty or begin with `;`.
    init(parsing text: Substring, grammar: Grammar, context: @autoclosure () -> String) throws(SIPParseError) {
        self.init()
        guard !text.isEmpty else { return }
        let spans = try SIPText.withBytes(text) { bytes throws(SIPParseError) -> [(name: Range<Int>, value: Range<Int>?)] in
            var spans: [(name: Range<Int>, value: Range<Int>?)] = []
            var index = 0
            let count = bytes.count
            func skipWhitespace() {
                if grammar == .header {
                    while index < count, SIPText.isWhitespace(bytes[index]) { index &+= 1 }
                }
            }
            while index < count {
                guard bytes[index] == UInt8(ascii: ";") else {
                    throw .badRequest(.badHeaderValue, "unexpected text \"\(String(decoding: bytes[index...], as: UTF8.self))\" in \(context())")
                }
                index &+= 1
                skipWhitespace()
                let nameStart = index
                while index < count, Self.isNameByte(bytes[index], grammar) { index &+= 1 }
                guard index > nameStart else { throw .badRequest(.badHeaderValue, "empty parameter in \(context())") }
                let name = nameStart..<index
                skipWhitespace()
                var value: Range<Int>?
                if index < count, bytes[index] == UInt8(ascii: "=") {
                    index &+= 1
                    skipWhitespace()
                    let valueStart = index
                    if grammar == .header, index < count, bytes[index] == UInt8(ascii: "\"") {
                        guard let end = SIPText.endOfQuotedString(bytes, from: index) else {
                            throw .badRequest(.badHeaderValue, "unterminated quoted parameter value in \(context())")
                        }
                        index = end
                    } else {
                        while index < count, Self.isValueByte(bytes[index], grammar) { index &+= 1 }
                    }
                    guard index > valueStart else {
                        throw .badRequest(.badHeaderValue,
                                          "parameter \(String(decoding: bytes[name], as: UTF8.self)) has an empty value in \(context())")
                    }
                    value = valueStart..<index
                    skipWhitespace()
                }
                spans.append((name, value))
            }
            return spans
        }
        items.reserveCapacity(spans.count)
        for span in spans {
            items.append(SIPParameter(
                name: SIPText.slice(text, span.name.lowerBound, span.name.upperBound),
                value: span.value.map { SIPText.slice(text, $0.lowerBound, $0.upperBound) }))
        }
    }

    private static func isNameByte(_ byte: UInt8, _ grammar: Grammar) -> Bool {
        switch grammar {
        case .header: SIPText.isToken(byte)
        case .uri: SIPText.isToken(byte) || isURIExtra(byte)
        }
    }

    private static func isValueByte(_ byte: UInt8, _ grammar: Grammar) -> Bool {
        switch grammar {
        case .header:
            SIPText.isToken(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "[")
                || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "@")
                || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte >= 0x80
        case .uri:
            SIPText.isToken(byte) || isURIExtra(byte) || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")")
        }
    }

    /// `param-unreserved` plus the reserved characters a URI parameter may carry unescaped.
    private static func isURIExtra(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: "&"),
             UInt8(ascii: "$"):
            true
        default:
            false
        }
    }
}
