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
        let utf8 = text.utf8
        guard let first = utf8.firstIndex(where: { !isWhitespace($0) }) else { return text[text.endIndex...] }
        let last = utf8.lastIndex(where: { !isWhitespace($0) })!
        return text[first...last]
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

    /// The index just past the closing quote of the quoted string that starts at `start`,
    /// honouring quoted-pairs (RFC 3261 §25.1), or `nil` when it is not terminated.
    static func endOfQuotedString(_ text: Substring, from start: Substring.Index) -> Substring.Index? {
        let utf8 = text.utf8
        var index = utf8.index(after: start)
        while index < utf8.endIndex {
            switch utf8[index] {
            case UInt8(ascii: "\\"):
                index = utf8.index(after: index)
                guard index < utf8.endIndex else { return nil }
            case UInt8(ascii: "\""):
                return utf8.index(after: index)
            default:
                break
            }
            index = utf8.index(after: index)
        }
        return nil
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
        var parts: [Substring] = []
        let utf8 = value.utf8
        var start = utf8.startIndex
        var index = start
        var inAngle = false
        while index < utf8.endIndex {
            switch utf8[index] {
            case UInt8(ascii: "\""):
                guard let end = endOfQuotedString(value, from: index) else {
                    throw .badRequest(.badHeaderValue, "unterminated quoted string in \(header.canonical)")
                }
                index = end
                continue
            case UInt8(ascii: "<"):
                inAngle = true
            case UInt8(ascii: ">"):
                inAngle = false
            case UInt8(ascii: ",") where !inAngle:
                try parts.append(nonEmpty(value[start..<index], header: header))
                start = utf8.index(after: index)
            default:
                break
            }
            index = utf8.index(after: index)
        }
        try parts.append(nonEmpty(value[start..<utf8.endIndex], header: header))
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
}
