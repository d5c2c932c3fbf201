/// Character classes and small scanners shared by the typed header views (RFC 3261 §25.1).
enum SIPText {
    /// `token` characters: alphanumerics and `-.!%*_+`'~`, as a bit mask over ASCII.
    @inline(__always)
    static func isToken(_ byte: UInt8) -> Bool {
        // Bits 0–63 and 64–127 of the ASCII token set (RFC 3261 §25.1).
        let low: UInt64 = 0x03FF_6CA2_0000_0000
        let high: UInt64 = 0x47FF_FFFF_87FF_FFFE
        return byte < 64 ? (low >> UInt64(byte)) & 1 == 1 : byte < 128 && (high >> UInt64(byte &- 64)) & 1 == 1
    }

    /// Space or horizontal tab (what remains of LWS once folding has been undone).
    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Whether every byte is a token character and there is at least one.
    static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isToken)
    }

    /// Removes leading and trailing spaces and tabs.
    static func trim(_ text: Substring) -> Substring {
        let (lower, upper) = withBytes(text) { bytes -> (Int, Int) in
            var lower = 0
            var upper = bytes.count
            while lower < upper, isWhitespace(bytes[lower]) { lower &+= 1 }
            while upper > lower, isWhitespace(bytes[upper &- 1]) { upper &-= 1 }
            return (lower, upper)
        }
        return lower == 0 && upper == text.utf8.count ? text : slice(text, lower, upper)
    }

    /// Runs `body` over the UTF-8 bytes of `text`, without copying them when they are native
    /// UTF-8 (every parsed message).
    @inline(__always)
    static func withBytes<R>(_ text: Substring, _ body: (UnsafeBufferPointer<UInt8>) throws(SIPParseError) -> R) throws(SIPParseError) -> R {
        var text = text
        let result: Result<R, SIPParseError> = text.withUTF8 { bytes in
            do throws(SIPParseError) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Runs `body` over the UTF-8 bytes of `text` (a variant for bodies that cannot fail).
    @inline(__always)
    static func withBytes<R>(_ text: Substring, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text = text
        return text.withUTF8(body)
    }

    /// The part of `text` between two UTF-8 offsets.
    @inline(__always)
    static func slice(_ text: Substring, _ lower: Int, _ upper: Int) -> Substring {
        let utf8 = text.utf8
        return Substring(utf8[utf8.index(utf8.startIndex, offsetBy: lower)..<utf8.index(utf8.startIndex, offsetBy: upper)])
    }

    /// The offset just past the closing quote of the quoted string starting at `start`.
    static func endOfQuotedString(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start &+ 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index &+= 2
            case UInt8(ascii: "\""): return index &+ 1
            default: index &+= 1
            }
        }
        return nil
    }

    /// Parses a run of decimal digits (leading zeros allowed) no greater than `maximum`.
    static func parseNumber(_ text: Substring, maximum: UInt64) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in text.utf8 {
            guard isDigit(byte) else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value <= maximum ? value : nil
    }

    /// Parses a Content-Length given as raw digits (at most 9, so any value fits an `Int`).
    static func parseLength(_ bytes: some Collection<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 9 else { return nil }
        var value = 0
        for byte in bytes {
            guard isDigit(byte) else { return nil }
            value = value &* 10 &+ Int(byte &- UInt8(ascii: "0"))
        }
        return value
    }

    /// Removes the quotes and quoted-pair backslashes of a quoted string.
    static func unquote(_ text: Substring) -> String {
        guard text.utf8.count >= 2, text.utf8.first == UInt8(ascii: "\""), text.utf8.last == UInt8(ascii: "\"") else {
            return String(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var escaped = false
        for byte in text.utf8.dropFirst().dropLast() {
            if !escaped && byte == UInt8(ascii: "\\") {
                escaped = true
                continue
            }
            escaped = false
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes `%HH` escapes; `nil` when an escape is malformed.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Splits a list header value at commas that are outside quoted strings and `<…>`.
    /// An empty element (`a,,b`) is an error, as RFC 4475 §3.1.2.1 expects.
    static func splitList(_ value: Substring, header: SIPHeaderName) throws(SIPParseError) -> [Substring] {
        // Most list lines hold one value: without a comma or a quote there is nothing to split.
        if !withBytes(value, { $0.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") } }) {
            return [try nonEmpty(value, header: header)]
        }
        let ranges = try withBytes(value) { bytes throws(SIPParseError) -> [Range<Int>] in
            var ranges: [Range<Int>] = []
            var start = 0
            var index = 0
            var inAngle = false
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard let end = endOfQuotedString(bytes, from: index) else {
                        throw .badRequest(.badHeaderValue, "unterminated quoted string in \(header.canonical)")
                    }
                    index = end
                    continue
                case UInt8(ascii: "<"):
                    inAngle = true
                case UInt8(ascii: ">"):
                    inAngle = false
                case UInt8(ascii: ",") where !inAngle:
                    ranges.append(start..<index)
                    start = index &+ 1
                default:
                    break
                }
                index &+= 1
            }
            ranges.append(start..<bytes.count)
            return ranges
        }
        if ranges.count == 1 { return [try nonEmpty(value, header: header)] }
        var parts: [Substring] = []
        parts.reserveCapacity(ranges.count)
        for range in ranges {
            parts.append(try nonEmpty(slice(value, range.lowerBound, range.upperBound), header: header))
        }
        return parts
    }

    private static func nonEmpty(_ part: Substring, header: SIPHeaderName) throws(SIPParseError) -> Substring {
        let trimmed = trim(part)
        guard !trimmed.isEmpty else {
            throw .badRequest(.badHeaderValue, "empty element in \(header.canonical) list")
        }
        return trimmed
    }
}

extension SIPHeaders {
    /// Splits the parameters of an authentication header (`a=1, b="x, y"`) at top-level commas.
    public static func splitAuthParameters(_ text: Substring) throws(SIPParseError) -> [Substring] {
        try SIPText.splitList(text, header: .authorization)
    }

    /// Removes the first value of a list header — the first element of a comma list, or the
    /// whole first line when it holds one value (a proxy taking its Via off a response).
    public mutating func removeFirstValue(_ name: SIPHeaderName) throws(SIPParseError) {
        guard let index = firstIndex(of: name) else { return }
        let values = try SIPText.splitList(value(at: index), header: name)
        if values.count > 1 {
            setValue(values.dropFirst().joined(separator: ", "), at: index)
        } else {
            remove(at: index)
        }
    }
}

/// Where a parsed name or value is, for types that keep parsed text plus offsets (``SIPHeaders``,
/// ``SIPParameters``): a byte range of the parsed text, or an entry of the values set after
/// parsing. Plain data, so arrays of them are copied without reference counting.
enum TextPart: Sendable {
    case slice(Int32, Int32)
    case edited(Int32)
}

/// A byte range of a parsed text as two `Int32`, so that the typed views (``SIPURI``,
/// ``NameAddress``, ``Via``) keep their parts as plain data next to one shared string.
struct TextSpan: Hashable, Sendable {
    var lower: Int32
    var upper: Int32

    init(_ range: Range<Int>) {
        lower = Int32(truncatingIfNeeded: range.lowerBound)
        upper = Int32(truncatingIfNeeded: range.upperBound)
    }

    var range: Range<Int> { Int(lower)..<Int(upper) }

    /// The same span in a text that starts `offset` bytes earlier.
    func shifted(by offset: Int) -> TextSpan {
        TextSpan((Int(lower) + offset)..<(Int(upper) + offset))
    }
}

extension SIPText {
    /// Whether two byte runs are equal ignoring ASCII case.
    static func sameIgnoringCase(_ lhs: UnsafeBufferPointer<UInt8>, _ rhs: UnsafeBufferPointer<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for index in 0..<lhs.count where lhs[index].asciiLowercased != rhs[index].asciiLowercased { return false }
        return true
    }

    /// Whether `bytes` spell `name` (given in lowercase), ignoring ASCII case.
    static func isLowercased(_ bytes: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        guard bytes.count == name.utf8CodeUnitCount else { return false }
        for index in 0..<bytes.count where bytes[index] | 0x20 != name.utf8Start[index] { return false }
        return true
    }

    /// The part of `text` a span covers.
    @inline(__always)
    static func slice(_ text: Substring, _ span: TextSpan) -> Substring {
        slice(text, Int(span.lower), Int(span.upper))
    }
}

/// Collects UTF-8 bytes for a header value being written out, and makes one `String` of them
/// at the end (cheaper than appending `Substring`s to a `String` piece by piece).
struct TextWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    mutating func append(_ buffer: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: buffer)
    }

    mutating func append(_ byte: UInt8) {
        bytes.append(byte)
    }

    /// Appends the bytes of `text` from offset `start` to `end`.
    mutating func append(_ text: Substring, _ start: Int, _ end: Int) {
        SIPText.withBytes(text) { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    mutating func append(_ text: Substring) {
        SIPText.withBytes(text) { bytes.append(contentsOf: $0) }
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}

extension StringProtocol {
    /// Whether the two texts are equal ignoring ASCII case (method names aside, SIP tokens and
    /// host names compare this way), compared over their bytes.
    public func caseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        return SIPText.withBytes(substring) { left in SIPText.withBytes(other.substring) { SIPText.sameIgnoringCase(left, $0) } }
    }

    /// The text as a `Substring`. A `String` or `Substring` is taken as it is; `Substring(_:)` on
    /// a generic `StringProtocol` value would build the result character by character.
    @inlinable
    public var substring: Substring {
        if let substring = self as? Substring { return substring }
        if let string = self as? String { return string[...] }
        return Substring(self)
    }
}
