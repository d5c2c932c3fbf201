/// One `;name=value` parameter. The value is kept exactly as written, quotes included, so that
/// unknown parameters such as `+sip.instance="<urn:uuid:…>"` survive a round trip byte for byte.
public struct SIPParameter: Hashable, Sendable {
    /// The parameter name as written.
    public var name: Substring
    /// The raw value (quotes kept), or `nil` for a parameter without `=` such as `lr` or `video`.
    public var value: Substring?

    /// Creates a parameter.
    public init(name: some StringProtocol, value: (some StringProtocol)?) {
        self.name = name.substring
        self.value = value.map { $0.substring }
    }
}

/// An ordered list of parameters, looked up case-insensitively by name (RFC 3261 §7.3.1, §19.1.4).
///
/// Parsed parameters are byte ranges into the parsed text, like ``SIPHeaders``: a parse keeps one
/// reference to the text and one array of plain offsets, so copying and dropping parameters
/// costs no reference counting per parameter.
public struct SIPParameters: Hashable, Sendable, RandomAccessCollection {
    typealias Part = TextPart

    struct Span: Sendable {
        var name: Part
        /// `nil` for a parameter without `=`.
        var value: Part?
    }

    /// The parsed text that `.slice` parts point into.
    private var text: Substring
    private var spans: [Span]
    /// Names and values set after parsing, which `.edited` parts point into.
    private var edits: [Substring]

    /// Creates an empty list.
    public init() {
        text = ""
        spans = []
        edits = []
    }

    public var startIndex: Int { spans.startIndex }
    public var endIndex: Int { spans.endIndex }
    public subscript(position: Int) -> SIPParameter {
        let span = spans[position]
        return SIPParameter(name: string(span.name), value: span.value.map(string))
    }

    /// The raw value of a parameter: `nil` when absent, `""` when present without a value.
    public subscript(name: String) -> Substring? {
        guard let index = index(of: name) else { return nil }
        return spans[index].value.map(string) ?? ""
    }

    /// Runs `body` over the bytes of a parameter's raw value (empty when it has none), or
    /// returns `nil` when the parameter is absent; no `Substring` is made.
    func withValueBytes<R>(of name: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        guard let index = index(of: name) else { return nil }
        switch spans[index].value {
        case nil:
            return body(UnsafeBufferPointer(start: nil, count: 0))
        case .slice(let start, let end):
            return SIPText.withBytes(text) { body(UnsafeBufferPointer(rebasing: $0[Int(start)..<Int(end)])) }
        case .edited(let position):
            return SIPText.withBytes(edits[Int(position)], body)
        }
    }

    /// Whether the parameter is present, with or without a value.
    public func contains(_ name: String) -> Bool {
        index(of: name) != nil
    }

    /// The value with surrounding quotes and quoted-pair escapes removed.
    public func unquoted(_ name: String) -> String? {
        self[name].map { SIPText.unquote($0) }
    }

    /// Sets a parameter's raw value in place, keeping its position, or appends it.
    /// Pass `nil` for a parameter without a value.
    public mutating func set(_ name: String, _ value: String?) {
        let newValue = value.map { store(Substring($0)) }
        if let index = index(of: name) {
            spans[index].value = newValue
        } else {
            spans.append(Span(name: store(Substring(name)), value: newValue))
        }
    }

    /// Removes a parameter.
    public mutating func remove(_ name: String) {
        while let index = index(of: name) { spans.remove(at: index) }
    }

    /// Appends `;name=value` for each parameter.
    public func write(to output: inout String) {
        guard !spans.isEmpty else { return }
        var writer = TextWriter(capacity: 128)
        write(to: &writer)
        output.append(writer.string)
    }

    /// Appends `;name=value` for each parameter. Parsed parameters written as `;name=value`
    /// with nothing between them are copied from the text in one run.
    func write(to writer: inout TextWriter) {
        guard !spans.isEmpty else { return }
        SIPText.withBytes(text) { bytes in
            var run = 0..<0
            func flush() {
                if !run.isEmpty { writer.append(UnsafeBufferPointer(rebasing: bytes[run])) }
                run = 0..<0
            }
            for span in spans {
                if let compact = Self.compactRange(span, bytes) {
                    if !run.isEmpty, run.upperBound == compact.lowerBound {
                        run = run.lowerBound..<compact.upperBound
                    } else {
                        flush()
                        run = compact
                    }
                    continue
                }
                flush()
                writer.append(UInt8(ascii: ";"))
                writer.append(string(span.name))
                if let value = span.value {
                    writer.append(UInt8(ascii: "="))
                    writer.append(string(value))
                }
            }
            flush()
        }
    }

    /// Where a parsed parameter is written exactly as `;name` or `;name=value` in the text.
    private static func compactRange(_ span: Span, _ bytes: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard case .slice(let nameStart, let nameEnd) = span.name, nameStart > 0,
              bytes[Int(nameStart) - 1] == UInt8(ascii: ";")
        else { return nil }
        switch span.value {
        case nil:
            return (Int(nameStart) - 1)..<Int(nameEnd)
        case .slice(let valueStart, let valueEnd) where valueStart == nameEnd + 1 && bytes[Int(nameEnd)] == UInt8(ascii: "="):
            return (Int(nameStart) - 1)..<Int(valueEnd)
        default:
            return nil
        }
    }

    public static func == (lhs: SIPParameters, rhs: SIPParameters) -> Bool {
        lhs.elementsEqual(rhs)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for parameter in self { hasher.combine(parameter) }
    }

    /// The position of the first parameter named `name` (case-insensitive).
    private func index(of name: String) -> Int? {
        var name = name
        return name.withUTF8 { wanted in
            SIPText.withBytes(text) { bytes in
                spans.firstIndex { span in
                    switch span.name {
                    case .slice(let start, let end):
                        SIPText.sameIgnoringCase(UnsafeBufferPointer(rebasing: bytes[Int(start)..<Int(end)]), wanted)
                    case .edited(let index):
                        SIPText.withBytes(edits[Int(index)]) { SIPText.sameIgnoringCase($0, wanted) }
                    }
                }
            }
        }
    }

    private func string(_ part: Part) -> Substring {
        switch part {
        case .slice(let start, let end): SIPText.slice(text, Int(start), Int(end))
        case .edited(let index): edits[Int(index)]
        }
    }

    private mutating func store(_ value: Substring) -> Part {
        edits.append(value)
        return .edited(Int32(edits.count - 1))
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
        try self.init(parsing: text, from: 0, to: text.utf8.count, grammar: grammar, context: context())
    }

    /// Parses `;a=b;c` from UTF-8 offset `start` to `end` of `text`, keeping `text` itself (no
    /// slice is made, so a name-addr or Via and its parameters share one string).
    init(parsing text: Substring, from start: Int, to end: Int, grammar: Grammar,
         context: @autoclosure () -> String) throws(SIPParseError) {
        self.init()
        guard start < end else { return }
        spans = try SIPText.withBytes(text) { bytes throws(SIPParseError) -> [Span] in
            var spans: [Span] = []
            try Self.scan(UnsafeBufferPointer(rebasing: bytes[..<end]), from: start, grammar: grammar, context: context) {
                spans.append($0)
            }
            return spans
        }
        self.text = text
    }

    /// Checks `;a=b;c` from offset `start` to `end` of `text` without keeping anything.
    static func validate(_ text: Substring, from start: Int, to end: Int, grammar: Grammar,
                         context: @autoclosure () -> String) throws(SIPParseError) {
        guard start < end else { return }
        try SIPText.withBytes(text) { bytes throws(SIPParseError) in
            try scan(UnsafeBufferPointer(rebasing: bytes[..<end]), from: start, grammar: grammar, context: context) { _ in }
        }
    }

    /// Walks the parameters from `start` to the end of `bytes`, handing each one to `found`.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, grammar: Grammar, context: () -> String,
                             _ found: (Span) -> Void) throws(SIPParseError) {
        var index = start
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
            while index < count, isNameByte(bytes[index], grammar) { index &+= 1 }
            guard index > nameStart else { throw .badRequest(.badHeaderValue, "empty parameter in \(context())") }
            let name = nameStart..<index
            skipWhitespace()
            var value: Part?
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
                    while index < count, isValueByte(bytes[index], grammar) { index &+= 1 }
                }
                guard index > valueStart else {
                    throw .badRequest(.badHeaderValue,
                                      "parameter \(String(decoding: bytes[name], as: UTF8.self)) has an empty value in \(context())")
                }
                value = .slice(Int32(valueStart), Int32(index))
                skipWhitespace()
            }
            found(Span(name: .slice(Int32(name.lowerBound), Int32(name.upperBound)), value: value))
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
