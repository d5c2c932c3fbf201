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
        self.value = Substring(value)
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
public struct SIPHeaders: Hashable, Sendable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    @usableFromInline var fields: [SIPHeader]

    /// Creates an empty header list.
    public init() { fields = [] }

    init(reservingCapacity capacity: Int) {
        fields = []
        fields.reserveCapacity(capacity)
    }

    public init(dictionaryLiteral elements: (SIPHeaderName, String)...) {
        fields = elements.map { SIPHeader(name: $0.0, value: $0.1) }
    }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }
    public subscript(position: Int) -> SIPHeader {
        get { fields[position] }
        set { fields[position] = newValue }
    }

    /// The value of the first field with this name.
    public subscript(name: SIPHeaderName) -> Substring? {
        fields.first { $0.name == name }?.value
    }

    /// Whether a field with this name is present.
    public func contains(_ name: SIPHeaderName) -> Bool {
        fields.contains { $0.name == name }
    }

    /// The values of every field line with this name, one per line.
    public func lines(_ name: SIPHeaderName) -> [Substring] {
        fields.lazy.filter { $0.name == name }.map(\.value)
    }

    /// Every value with this name: lines are split at top-level commas for list headers
    /// (Via, Contact, Route, Record-Route, Path, Supported, Require, …), so
    /// `Via: a, b` and two `Via` lines give the same result.
    public func values(_ name: SIPHeaderName) throws(SIPParseError) -> [Substring] {
        var result: [Substring] = []
        let splits = name.known?.isCommaSeparatedList ?? false
        for field in fields where field.name == name {
            if splits {
                try result.append(contentsOf: SIPText.splitList(field.value, header: name))
            } else {
                result.append(field.value)
            }
        }
        return result
    }

    /// Appends a field at the end.
    public mutating func append(_ name: SIPHeaderName, _ value: some StringProtocol) {
        fields.append(SIPHeader(name: name, value: value))
    }

    /// Inserts a field before all others with this name (a proxy adding its Via or Record-Route),
    /// or at the end when there is none.
    public mutating func prepend(_ name: SIPHeaderName, _ value: some StringProtocol) {
        let index = fields.firstIndex { $0.name == name } ?? fields.endIndex
        fields.insert(SIPHeader(name: name, value: value), at: index)
    }

    /// Replaces the first field with this name and removes the others, or appends one.
    public mutating func set(_ name: SIPHeaderName, _ value: some StringProtocol) {
        if let index = fields.firstIndex(where: { $0.name == name }) {
            fields[index].value = Substring(value)
            var next = index + 1
            while next < fields.endIndex {
                if fields[next].name == name { fields.remove(at: next) } else { next += 1 }
            }
        } else {
            append(name, value)
        }
    }

    /// Removes every field with this name.
    public mutating func remove(_ name: SIPHeaderName) {
        fields.removeAll { $0.name == name }
    }

    /// Removes the field at a position.
    public mutating func remove(at position: Int) {
        fields.remove(at: position)
    }

    @inline(__always)
    mutating func appendParsed(_ field: SIPHeader) {
        fields.append(field)
    }
}
