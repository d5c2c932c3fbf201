extension SIPMessageHead {
    /// Parses a request line or a status line (RFC 3261 §7.1, §7.2) from raw bytes. Extra spaces
    /// between the parts or at the end are tolerated and reported (RFC 4475 §3.1.2.9, §3.1.2.10).
    static func parseStartLine(_ line: UnsafeRawBufferPointer, warnings: inout [String]) throws(SIPParseError) -> SIPStartLine {
        if startsWithVersionPrefix(line, from: 0) {
            return try .response(parseStatusLine(line, warnings: &warnings))
        }
        return try .request(parseRequestLine(line, warnings: &warnings))
    }

    private static func parseRequestLine(_ line: UnsafeRawBufferPointer, warnings: inout [String]) throws(SIPParseError) -> SIPRequestLine {
        var start = 0
        var end = line.count
        while start < end, SIPText.isWhitespace(line[start]) { start &+= 1 }
        while end > start, SIPText.isWhitespace(line[end &- 1]) { end &-= 1 }
        if start != 0 || end != line.count {
            warnings.append("whitespace around the request line")
        }
        guard let firstSpace = ByteSearch.firstIndex(of: UInt8(ascii: " "), in: line, from: start, to: end) else {
            throw .badRequest(.badStartLine, "request line \"\(text(line, 0, line.count))\" is not \"Method Request-URI SIP-Version\"")
        }
        var lastSpace = end &- 1
        while lastSpace > firstSpace, line[lastSpace] != UInt8(ascii: " ") { lastSpace &-= 1 }
        guard lastSpace > firstSpace else {
            throw .badRequest(.badStartLine, "request line \"\(text(line, 0, line.count))\" is not \"Method Request-URI SIP-Version\"")
        }
        for index in start..<firstSpace where !SIPText.isToken(line[index]) {
            throw .badRequest(.badStartLine, "method \"\(text(line, start, firstSpace))\" is not a token")
        }
        guard isVersion(line, from: lastSpace &+ 1, to: end) else {
            throw .badRequest(.badStartLine, "\"\(text(line, lastSpace + 1, end))\" is not a SIP version")
        }
        var uriStart = firstSpace &+ 1
        var uriEnd = lastSpace
        while uriStart < uriEnd, SIPText.isWhitespace(line[uriStart]) { uriStart &+= 1 }
        while uriEnd > uriStart, SIPText.isWhitespace(line[uriEnd &- 1]) { uriEnd &-= 1 }
        guard uriEnd > uriStart else { throw .badRequest(.badStartLine, "empty Request-URI") }
        if uriStart != firstSpace &+ 1 || uriEnd != lastSpace {
            warnings.append("more than one space between the parts of the request line")
        }
        return SIPRequestLine(method: text(line, start, firstSpace), uri: Substring(text(line, uriStart, uriEnd)),
                              version: text(line, lastSpace &+ 1, end))
    }

    private static func parseStatusLine(_ line: UnsafeRawBufferPointer, warnings: inout [String]) throws(SIPParseError) -> SIPStatusLine {
        let count = line.count
        let firstSpace = ByteSearch.firstIndex(of: UInt8(ascii: " "), in: line, from: 0, to: count) ?? count
        let codeEnd = ByteSearch.firstIndex(of: UInt8(ascii: " "), in: line, from: min(firstSpace &+ 1, count), to: count) ?? count
        guard isVersion(line, from: 0, to: firstSpace), codeEnd &- firstSpace == 4,
              let code = SIPText.parseLength(UnsafeRawBufferPointer(rebasing: line[(firstSpace &+ 1)..<codeEnd])),
              (100...699).contains(code)
        else {
            throw SIPParseError.badRequest(.badStartLine, "status line \"\(text(line, 0, count))\" has no valid status code")
                .dropped
        }
        var reasonStart = codeEnd
        if codeEnd == count {
            warnings.append("status line without the space before the reason phrase")
        } else {
            reasonStart &+= 1
        }
        return SIPStatusLine(statusCode: code, reasonPhrase: text(line, reasonStart, count), version: text(line, 0, firstSpace))
    }

    private static func startsWithVersionPrefix(_ line: UnsafeRawBufferPointer, from start: Int) -> Bool {
        line.count >= start &+ 4 && line[start].asciiLowercased == UInt8(ascii: "s")
            && line[start &+ 1].asciiLowercased == UInt8(ascii: "i") && line[start &+ 2].asciiLowercased == UInt8(ascii: "p")
            && line[start &+ 3] == UInt8(ascii: "/")
    }

    /// `SIP/` 1*DIGIT `.` 1*DIGIT, case-insensitive.
    private static func isVersion(_ line: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Bool {
        guard end &- start >= 7, startsWithVersionPrefix(line, from: start) else { return false }
        var digitsBeforeDot = 0
        var digitsAfterDot = 0
        var sawDot = false
        for index in (start &+ 4)..<end {
            let byte = line[index]
            if SIPText.isDigit(byte) {
                if sawDot { digitsAfterDot &+= 1 } else { digitsBeforeDot &+= 1 }
            } else if byte == UInt8(ascii: "."), !sawDot {
                sawDot = true
            } else {
                return false
            }
        }
        return sawDot && digitsBeforeDot > 0 && digitsAfterDot > 0
    }

    /// The bytes as text, at most 200 of them (for error messages).
    private static func text(_ line: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<max(start, end)]), as: UTF8.self)
    }
}
