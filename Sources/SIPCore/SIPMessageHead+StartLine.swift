extension SIPMessageHead {
    /// Parses a request line or a status line (RFC 3261 §7.1, §7.2). Extra spaces between the
    /// parts or at the end are tolerated and reported (RFC 4475 §3.1.2.9, §3.1.2.10).
    static func parseStartLine(_ line: Substring, warnings: inout [String]) throws(SIPParseError) -> SIPStartLine {
        if line.utf8.starts(with: "SIP/".utf8, by: { $0.asciiLowercased == $1.asciiLowercased }) {
            return try .response(parseStatusLine(line, warnings: &warnings))
        }
        return try .request(parseRequestLine(line, warnings: &warnings))
    }

    private static func parseRequestLine(_ line: Substring, warnings: inout [String]) throws(SIPParseError) -> SIPRequestLine {
        let trimmed = SIPText.trim(line)
        if trimmed.utf8.count != line.utf8.count {
            warnings.append("whitespace around the request line")
        }
        guard let firstSpace = trimmed.utf8.firstIndex(of: UInt8(ascii: " ")),
              let lastSpace = trimmed.utf8.lastIndex(of: UInt8(ascii: " ")), firstSpace < lastSpace
        else {
            throw .badRequest(.badStartLine, "request line \"\(line.prefix(80))\" is not \"Method Request-URI SIP-Version\"")
        }
        let method = trimmed[..<firstSpace]
        guard SIPText.isToken(method) else {
            throw .badRequest(.badStartLine, "method \"\(method.prefix(40))\" is not a token")
        }
        let version = trimmed[trimmed.utf8.index(after: lastSpace)...]
        guard isVersion(version) else {
            throw .badRequest(.badStartLine, "\"\(version.prefix(40))\" is not a SIP version")
        }
        let rawURI = trimmed[trimmed.utf8.index(after: firstSpace)..<lastSpace]
        let uri = SIPText.trim(rawURI)
        guard !uri.isEmpty else { throw .badRequest(.badStartLine, "empty Request-URI") }
        if uri.utf8.count != rawURI.utf8.count {
            warnings.append("more than one space between the parts of the request line")
        }
        return SIPRequestLine(method: String(method), uri: uri, version: String(version))
    }

    private static func parseStatusLine(_ line: Substring, warnings: inout [String]) throws(SIPParseError) -> SIPStatusLine {
        guard let firstSpace = line.utf8.firstIndex(of: UInt8(ascii: " ")) else {
            throw SIPParseError.badRequest(.badStartLine, "status line \"\(line.prefix(80))\" has no status code").dropped
        }
        let version = line[..<firstSpace]
        let rest = line[line.utf8.index(after: firstSpace)...]
        let codeEnd = rest.utf8.firstIndex(of: UInt8(ascii: " ")) ?? rest.endIndex
        let codeText = rest[..<codeEnd]
        guard isVersion(version), codeText.utf8.count == 3, let code = SIPText.parseNumber(codeText, maximum: 699),
              code >= 100
        else {
            throw SIPParseError.badRequest(.badStartLine, "status line \"\(line.prefix(80))\" has no valid status code")
                .dropped
        }
        var reason: Substring = rest[codeEnd...]
        if reason.isEmpty {
            warnings.append("status line without the space before the reason phrase")
        } else {
            reason = reason.dropFirst()
        }
        return SIPStatusLine(statusCode: Int(code), reasonPhrase: reason, version: String(version))
    }

    /// `SIP/` 1*DIGIT `.` 1*DIGIT, case-insensitive.
    private static func isVersion(_ text: Substring) -> Bool {
        let utf8 = text.utf8
        guard utf8.count >= 7, utf8.starts(with: "SIP/".utf8, by: { $0.asciiLowercased == $1.asciiLowercased }) else {
            return false
        }
        let number = text.dropFirst(4)
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy(SIPText.isDigit) }
    }
}
