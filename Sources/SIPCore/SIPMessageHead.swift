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

    consuming func message(body: ByteBuffer) -> SIPMessage {
        var message = SIPMessage(startLine: startLine, headers: headers, body: body)
        message.parseWarnings = warnings
        return message
    }

    /// Parses the first `length` readable bytes of `buffer` (start line and header lines), or
    /// with `length == nil` everything up to the blank line (a datagram: one pass, no prior scan).
    /// - Returns: via `bodyStart`, where the body begins.
    init(buffer: ByteBuffer, length: Int?, limits: SIPParser.Limits, bodyStart: inout Int) throws(SIPParseError) {
        var scan = LineScan()
        scan.fields.reserveCapacity(24)
        var startLine: SIPStartLine?
        var warnings: [String] = []
        var headLength = 0
        let outcome: SIPParseError? = buffer.withUnsafeReadableBytes { all -> SIPParseError? in
            let bytes = length.map { UnsafeRawBufferPointer(rebasing: all[..<$0]) } ?? all
            do throws(SIPParseError) {
                try Self.scanLines(bytes, limits: limits, scan: &scan)
                startLine = try Self.parseStartLine(UnsafeRawBufferPointer(rebasing: bytes[..<scan.startLineEnd]),
                                                    warnings: &warnings)
                headLength = scan.headLength
                return nil
            } catch {
                return error
            }
        }
        if let outcome { throw outcome }
        if length == nil, !scan.sawBlankLine {
            throw .badRequest(.badStartLine, "the message ends before the blank line that closes the header section")
        }
        bodyStart = scan.bodyStart
        guard let text = buffer.withUnsafeReadableBytes({ all in
            UnsafeRawBufferPointer(rebasing: all[..<headLength]).withMemoryRebound(to: UInt8.self) { bytes in
                // Header sections are nearly always ASCII, which needs no validation beyond the check.
                ByteSearch.isASCII(UnsafeRawBufferPointer(bytes))
                    ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
            }
        }) else {
            throw .badRequest(.invalidEncoding, "the header section is not valid UTF-8")
        }
        var unfolded: [Substring] = []
        if !scan.folded.isEmpty {
            let utf8 = text.utf8
            for index in scan.folded {
                guard case .slice(let start, let end) = scan.fields[index].value else { continue }
                let raw = Substring(utf8[utf8.index(utf8.startIndex, offsetBy: Int(start))..<utf8.index(utf8.startIndex, offsetBy: Int(end))])
                let value = Self.unfold(raw)
                if scan.fields[index].known == .contentLength { try scan.noteContentLength(SIPText.parseLength(value.utf8), value) }
                unfolded.append(value)
                scan.fields[index].value = .edited(Int32(unfolded.count - 1))
            }
        }
        self.startLine = startLine!
        self.headers = SIPHeaders(text: text, fields: scan.fields, edits: unfolded)
        self.contentLength = scan.contentLength
        self.warnings = warnings
    }

    /// What one pass over the header section found.
    private struct LineScan {
        var fields: [SIPHeaders.Field] = []
        /// Indices of fields whose value continues on folded lines.
        var folded: [Int] = []
        var startLineEnd = 0
        /// The bytes up to and including the last header line's line end.
        var headLength = 0
        var bodyStart = 0
        var sawBlankLine = false
        var contentLength: Int?

        mutating func noteContentLength(_ length: Int?, _ text: @autoclosure () -> Substring) throws(SIPParseError) {
            guard let length else {
                throw .badRequest(.badContentLength, "Content-Length \"\(text().prefix(40))\" is not a non-negative number")
            }
            guard contentLength == nil || contentLength == length else {
                throw .badRequest(.badContentLength, "two Content-Length headers disagree")
            }
            contentLength = length
        }
    }

    /// Pass one over raw bytes: line boundaries, names, value ranges, limits and Content-Length,
    /// up to the blank line or the end of `bytes`.
    private static func scanLines(_ bytes: UnsafeRawBufferPointer, limits: SIPParser.Limits,
                                  scan: inout LineScan) throws(SIPParseError) {
        let count = bytes.count
        var lineStart = 0
        var isFirstLine = true
        scan.headLength = count
        scan.bodyStart = count
        while lineStart < count {
            let lineEnd = ByteSearch.firstIndex(of: UInt8(ascii: "\n"), in: bytes, from: lineStart, to: count) ?? count
            var contentEnd = lineEnd
            if contentEnd > lineStart, bytes[contentEnd &- 1] == UInt8(ascii: "\r") { contentEnd &-= 1 }
            guard contentEnd &- lineStart <= limits.maxLineLength else {
                throw SIPParser.tooLarge("a line of \(contentEnd - lineStart) bytes exceeds \(limits.maxLineLength)")
            }
            defer { lineStart = lineEnd &+ 1 }
            if isFirstLine {
                scan.startLineEnd = contentEnd
                isFirstLine = false
                continue
            }
            if contentEnd == lineStart {
                // The blank line: the header section ends here.
                scan.sawBlankLine = true
                scan.headLength = lineStart
                scan.bodyStart = min(lineEnd &+ 1, count)
                break
            }
            if SIPText.isWhitespace(bytes[lineStart]) {
                guard !scan.fields.isEmpty else {
                    throw .badRequest(.badHeaderLine, "the first header line starts with whitespace")
                }
                let last = scan.fields.count &- 1
                guard case .slice(let valueStart, _) = scan.fields[last].value else { continue }
                scan.fields[last].value = .slice(valueStart, Int32(trimmedEnd(bytes, lineStart, contentEnd)))
                if scan.folded.last != last { scan.folded.append(last) }
                continue
            }
            // RFC 3261 §7.3.1: field-name (a token), optional whitespace, colon.
            var nameEnd = lineStart
            while nameEnd < contentEnd, SIPText.isToken(bytes[nameEnd]) { nameEnd &+= 1 }
            var colon = nameEnd
            while colon < contentEnd, SIPText.isWhitespace(bytes[colon]) { colon &+= 1 }
            guard nameEnd > lineStart, colon < contentEnd, bytes[colon] == UInt8(ascii: ":") else {
                if nameEnd > lineStart, ByteSearch.firstIndex(of: UInt8(ascii: ":"), in: bytes, from: nameEnd, to: contentEnd) != nil {
                    throw .badRequest(.badHeaderLine, "invalid header name \"\(lineText(bytes, lineStart, contentEnd))\"")
                }
                throw .badRequest(.badHeaderLine, "header line without a name and colon: \"\(lineText(bytes, lineStart, contentEnd))\"")
            }
            guard scan.fields.count < limits.maxHeaderCount else {
                throw SIPParser.tooLarge("more than \(limits.maxHeaderCount) header lines")
            }
            var valueStart = colon &+ 1
            while valueStart < contentEnd, SIPText.isWhitespace(bytes[valueStart]) { valueStart &+= 1 }
            let known = KnownSIPHeader(matching: UnsafeRawBufferPointer(rebasing: bytes[lineStart..<nameEnd]))
            let valueEnd = trimmedEnd(bytes, valueStart, contentEnd)
            scan.fields.append(SIPHeaders.Field(name: .slice(Int32(lineStart), Int32(nameEnd)),
                                                value: .slice(Int32(valueStart), Int32(valueEnd)), known: known))
        }
        guard !isFirstLine, scan.startLineEnd > 0 else { throw .badRequest(.badStartLine, "empty start line") }
        for (index, field) in scan.fields.enumerated() where field.known == .contentLength && !scan.folded.contains(index) {
            guard case .slice(let start, let end) = field.value else { continue }
            let digits = UnsafeRawBufferPointer(rebasing: bytes[Int(start)..<Int(end)])
            try scan.noteContentLength(SIPText.parseLength(digits), Substring(lineText(bytes, Int(start), Int(end))))
        }
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
