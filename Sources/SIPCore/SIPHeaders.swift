/// One header field line: its name and its value with surrounding whitespace removed and line
/// folding replaced by single spaces.
public struct SIPHeader: Hashable, Sendable {
    /// The field name, as received.
    public var name: SIPHeaderName
    /// The field value.
    public var value: Substring

    /// Creates a header field.
    public init(name: SIPHeaderName, value: some StringProtocol) {
        self.name = name
        self.value = value.substring
    }

    public static func == (lhs: SIPHeader, rhs: SIPHeader) -> Bool {
        lhs.name.spelling == rhs.name.spelling && lhs.value == rhs.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name.spelling)
        hasher.combine(value)
    }
}

/// The header fields of a message, in order. Lookups ignore case and accept compact forms;
/// the order and the spelling of every field are kept for serialization.
///
/// Parsed fields are byte ranges into the received header text, so a parse allocates the text
/// and one array, whatever the number of headers; ``SIPHeader`` values are made on access.
public struct SIPHeaders: Sendable, RandomAccessCollection, Hashable, ExpressibleByDictionaryLiteral {
    typealias Part = TextPart

    struct Field: Sendable {
        var name: Part
        var value: Part
        var known: KnownSIPHeader?
    }

    /// The received header text that `.slice` parts point into.
    private(set) var text: String
    private(set) var fields: [Field]
    /// Names and values set after parsing, which `.edited` parts point into.
    private var edits: [Substring]

    /// Creates an empty header list.
    public init() {
        text = ""
        fields = []
        edits = []
    }

    init(text: String, fields: [Field], edits: [Substring]) {
        self.text = text
        self.fields = fields
        self.edits = edits
    }

    private mutating func store(_ value: Substring) -> Part {
        edits.append(value)
        return .edited(Int32(edits.count - 1))
    }

    public init(dictionaryLiteral elements: (SIPHeaderName, String)...) {
        self.init()
        for (name, value) in elements { append(name, value) }
    }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }

    /// The field at a position.
    public subscript(position: Int) -> SIPHeader {
        get {
            let field = fields[position]
            return SIPHeader(name: SIPHeaderName(spelling: string(field.name), known: field.known), value: string(field.value))
        }
        set {
            fields[position] = Field(name: store(newValue.name.spelling), value: store(newValue.value), known: newValue.name.known)
        }
    }

    /// The value of the first field with this name.
    public subscript(name: SIPHeaderName) -> Substring? {
        fields.firstIndex { matches($0, name) }.map { string(fields[$0].value) }
    }

    /// Whether a field with this name is present.
    public func contains(_ name: SIPHeaderName) -> Bool {
        fields.contains { matches($0, name) }
    }

    /// The number of field lines with this name.
    public func count(of name: SIPHeaderName) -> Int {
        fields.reduce(0) { $0 + (matches($1, name) ? 1 : 0) }
    }

    /// The values of every field line with this name, one per line.
    public func lines(_ name: SIPHeaderName) -> [Substring] {
        fields.lazy.filter { matches($0, name) }.map { string($0.value) }
    }

    /// Every value with this name: lines are split at top-level commas for list headers
    /// (Via, Contact, Route, Record-Route, Path, Supported, Require, …), so
    /// `Via: a, b` and two `Via` lines give the same result.
    public func values(_ name: SIPHeaderName) throws(SIPParseError) -> [Substring] {
        var result: [Substring] = []
        let splits = name.known?.isCommaSeparatedList ?? false
        for field in fields where matches(field, name) {
            if splits {
                try result.append(contentsOf: SIPText.splitList(string(field.value), header: name))
            } else {
                result.append(string(field.value))
            }
        }
        return result
    }

    /// The position of the first field with this name.
    public func firstIndex(of name: SIPHeaderName) -> Int? {
        fields.firstIndex { matches($0, name) }
    }

    /// The value of the field at a position.
    public func value(at position: Int) -> Substring {
        string(fields[position].value)
    }

    /// Replaces the value of the field at a position, keeping its name as written.
    public mutating func setValue(_ value: some StringProtocol, at position: Int) {
        fields[position].value = store(value.substring)
    }

    /// Appends a field at the end.
    public mutating func append(_ name: SIPHeaderName, _ value: some StringProtocol) {
        fields.append(Field(name: store(name.spelling), value: store(value.substring), known: name.known))
    }

    /// An empty list sharing `source`'s received text, so that fields copied from `source` with
    /// ``appendFields(_:from:limit:)`` are kept as offsets into it (a response copying a request's
    /// Via, From, Call-ID and CSeq makes no strings).
    public init(sharingTextOf source: SIPHeaders) {
        self.init(text: source.text, fields: [], edits: [])
    }

    /// Appends the fields with this name from `source` (at most `limit`), as they are written there.
    public mutating func appendFields(_ name: SIPHeaderName, from source: SIPHeaders, limit: Int = .max) {
        // Equal strings sharing storage compare in constant time.
        let shared = text == source.text
        var copied = 0
        for field in source.fields where copied < limit && source.matches(field, name) {
            func part(_ part: Part) -> Part {
                if shared, case .slice = part { return part }
                return store(source.string(part))
            }
            fields.append(Field(name: part(field.name), value: part(field.value), known: field.known))
            copied += 1
        }
    }

    /// Inserts a field before all others with this name (a proxy adding its Via or Record-Route),
    /// or at the end when there is none.
    public mutating func prepend(_ name: SIPHeaderName, _ value: some StringProtocol) {
        let index = fields.firstIndex { matches($0, name) } ?? fields.endIndex
        let field = Field(name: store(name.spelling), value: store(value.substring), known: name.known)
        fields.insert(field, at: index)
    }

    /// Replaces the first field with this name and removes the others, or appends one.
    public mutating func set(_ name: SIPHeaderName, _ value: some StringProtocol) {
        guard let index = fields.firstIndex(where: { matches($0, name) }) else {
            append(name, value)
            return
        }
        fields[index].value = store(value.substring)
        var next = index + 1
        while next < fields.endIndex {
            if matches(fields[next], name) { fields.remove(at: next) } else { next += 1 }
        }
    }

    /// Removes every field with this name.
    public mutating func remove(_ name: SIPHeaderName) {
        let copy = self
        fields.removeAll { copy.matches($0, name) }
    }

    /// Removes the field at a position.
    public mutating func remove(at position: Int) {
        fields.remove(at: position)
    }

    public static func == (lhs: SIPHeaders, rhs: SIPHeaders) -> Bool {
        lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        for field in self { hasher.combine(field) }
    }

    private func string(_ part: Part) -> Substring {
        switch part {
        case .slice(let start, let end):
            let utf8 = text.utf8
            return Substring(utf8[utf8.index(utf8.startIndex, offsetBy: Int(start))..<utf8.index(utf8.startIndex, offsetBy: Int(end))])
        case .edited(let index):
            return edits[Int(index)]
        }
    }

    @inline(__always)
    private func matches(_ field: Field, _ name: SIPHeaderName) -> Bool {
        if let known = name.known { return field.known == known }
        guard field.known == nil else { return false }
        return string(field.name).utf8.elementsEqual(name.spelling.utf8) { $0.asciiLowercased == $1.asciiLowercased }
    }

    /// Calls `body` with the kind of every field the stack knows, in order.
    func forEachKnownField(_ body: (KnownSIPHeader) -> Void) {
        for field in fields {
            if let known = field.known { body(known) }
        }
    }

    /// Calls `body` with the bytes of every field's name and value, in order.
    func forEachField(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        var text = text
        text.withUTF8 { all in
            let base = UnsafeRawBufferPointer(all)
            for field in fields {
                withBytes(field.name, base) { name in withBytes(field.value, base) { value in body(name, value) } }
            }
        }
    }

    private func withBytes(_ part: Part, _ base: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        switch part {
        case .slice(let start, let end):
            body(UnsafeRawBufferPointer(rebasing: base[Int(start)..<Int(end)]))
        case .edited(let index):
            var value = edits[Int(index)]
            value.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
    }
}
