import NIOCore

/// A parsed header section waiting for its body.
struct SIPMessageHead: Sendable {
    var startLine: SIPStartLine
    var headers: SIPHeaders
    var contentLength: Int?
    var warnings: [String]

    var isResponse: Bool {
        if case .response = startLine { return true }
        return false
    }

    func message(body: ByteBuffer) -> SIPMessage {
        var message = SIPMessage(startLine: startLine, headers: headers, body: body)
        message.parseWarnings = warnings
        return message
    }

    /// Where one header field sits in the header section, as byte offsets.
    private struct FieldRange {
        var nameStart: Int
        var nameEnd: Int
        var valueStart: Int
        var valueEnd: Int
        var known: KnownSIPHeader?
        var folded: Bool
    }

    /// Parses the first `length` readable bytes of `buffer` (start line and header lines).
    init(buffer: ByteBuffer, length: Int, limits: SIPParser.Limits) throws(SIPParseError) {
        var fields: [FieldRange] = []
        fields.reserveCapacity(24)
        var startLineEnd = 0
        var contentLength: Int?
        let outcome: SIPParseError? = buffer.withUnsafeReadableBytes { all -> SIPParseError? in
            let bytes = UnsafeRawBufferPointer(rebasing: all[..<length])
            do throws(SIPParseError) {
                try Self.scanLines(bytes, limits: limits, startLineEnd: &startLineEnd, fields: &fields)
                return nil
            } catch {
                return error
            }
        }
        if let outcome { throw outcome }
        guard let text = buffer.withUnsafeReadableBytes({ all in
            UnsafeRawBufferPointer(rebasing: all[..<length]).withMemoryRebound(to: UInt8.self) {
                String(validating: $0, as: UTF8.self)
            }
        }) else {
            throw .badRequest(.invalidEncoding, "the header section is not valid UTF-8")
        }
        let utf8 = text.utf8
        let base = utf8.startIndex
        func slice(_ lower: Int, _ upper: Int) -> Substring {
            text[utf8.index(base, offsetBy: lower)..<utf8.index(base, offsetBy: upper)]
        }
        var warnings: [String] = []
        startLine = try Self.parseStartLine(slice(0, startLineEnd), warnings: &warnings)
        var headers = SIPHeaders(reservingCapacity: fields.count)
        for field in fields {
            let name = SIPHeaderName(spelling: slice(field.nameStart, field.nameEnd), known: field.known)
            var value = slice(field.valueStart, field.valueEnd)
            if field.folded { value = Self.unfold(value) }
            if field.known == .contentLength {
                guard let length = SIPText.parseLength(value.utf8) else {
                    throw .badRequest(.badContentLength, "Content-Length \"\(value.prefix(40))\" is not a non-negative number")
                }
                guard contentLength == nil || contentLength == length else {
                    throw .badRequest(.badContentLength, "two Content-Length headers disagree")
                }
                contentLength = length
            }
            headers.appendParsed(SIPHeader(name: name, value: value))
        }
        self.headers = headers
        self.contentLength = contentLength
        self.warnings = warnings
    }

    /// Pass one over raw bytes: line boundaries, names, value ranges and limits.
    private static func scanLines(_ bytes: UnsafeRawBufferPointer, limits: SIPParser.Limits, startLineEnd: inout Int,
                                  fields: inout [FieldRange]) throws(SIPParseError) {
        let count = bytes.count
        var lineStart = 0
        var isFirstLine = true
        while lineStart < count {
            var lineEnd = lineStart
            while lineEnd < count, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd &+= 1 }
            var contentEnd = lineEnd
            if contentEnd > lineStart, bytes[contentEnd &- 1] == UInt8(ascii: "\r") { contentEnd &-= 1 }
            guard contentEnd &- lineStart <= limits.maxLineLength else {
                throw SIPParser.tooLarge("a line of \(contentEnd - lineStart) bytes exceeds \(limits.maxLineLength)")
            }
            defer { lineStart = lineEnd &+ 1 }
            if isFirstLine {
                startLineEnd = contentEnd
                isFirstLine = false
                continue
            }
            if SIPText.isWhitespace(bytes[lineStart]) {
                guard !fields.isEmpty else {
                    throw .badRequest(.badHeaderLine, "the first header line starts with whitespace")
                }
                fields[fields.count &- 1].valueEnd = trimmedEnd(bytes, lineStart, contentEnd)
                fields[fields.count &- 1].folded = true
                continue
            }
            var colon = lineStart
            while colon < contentEnd, bytes[colon] != UInt8(ascii: ":") { colon &+= 1 }
            let nameEnd = trimmedEnd(bytes, lineStart, colon)
            guard colon < contentEnd, nameEnd > lineStart else {
                throw .badRequest(.badHeaderLine, "header line without a name and colon: \"\(lineText(bytes, lineStart, contentEnd))\"")
            }
            for index in lineStart..<nameEnd where !SIPText.isToken(bytes[index]) {
                throw .badRequest(.badHeaderLine, "invalid header name \"\(lineText(bytes, lineStart, nameEnd))\"")
            }
            guard fields.count < limits.maxHeaderCount else {
                throw SIPParser.tooLarge("more than \(limits.maxHeaderCount) header lines")
            }
            var valueStart = colon &+ 1
            while valueStart < contentEnd, SIPText.isWhitespace(bytes[valueStart]) { valueStart &+= 1 }
            let known = KnownSIPHeader(matching: UnsafeRawBufferPointer(rebasing: bytes[lineStart..<nameEnd]))
            let valueEnd = trimmedEnd(bytes, valueStart, contentEnd)
            fields.append(FieldRange(nameStart: lineStart, nameEnd: nameEnd, valueStart: valueStart, valueEnd: valueEnd,
                                     known: known, folded: false))
        }
        guard !isFirstLine, startLineEnd > 0 else { throw .badRequest(.badStartLine, "empty start line") }
    }

    private static func trimmedEnd(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int {
        var end = end
        while end > start, SIPText.isWhitespace(bytes[end &- 1]) { end &-= 1 }
        return end
    }

    private static func lineText(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<min(end, start + 80)]), as: UTF8.self)
    }

    /// Replaces each line break and the whitespace around it with one space (RFC 3261 §7.3.1).
    static func unfold(_ value: Substring) -> Substring {
        var result = ""
        for piece in value.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let trimmed = SIPText.trim(piece.last == "\r" ? piece.dropLast() : piece)
            guard !trimmed.isEmpty else { continue }
            if !result.isEmpty { result.append(" ") }
            result.append(contentsOf: trimmed)
        }
        return Substring(result)
    }
}
