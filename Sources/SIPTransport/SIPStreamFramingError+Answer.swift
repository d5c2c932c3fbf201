import NIOCore
import SIPCore

extension SIPStreamFramingError {
    /// The answer a server writes before it closes a stream it can no longer frame (RFC 3261
    /// §18.3, §8.2): the status of ``sipError`` with its reason, echoing the request's Via, From,
    /// To, Call-ID and CSeq lines, whenever the bytes begin with a request line and hold a Via;
    /// `nil` otherwise (no answer can reach the sender). `edgeway message check --stream` prints
    /// the same answer.
    public var answer: ByteBuffer? {
        guard let sipError, let status = sipError.status, let head else { return nil }
        let text = String(buffer: head)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).prefix { !$0.isEmpty }
        guard let requestLine = lines.first else { return nil }
        let parts = requestLine.split(separator: " ")
        guard parts.count == 3, parts[2] == "SIP/2.0", parts[0].allSatisfy({ $0.isLetter || $0 == "-" }) else { return nil }
        let echoed = ["via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"]
        let kept = lines.dropFirst().filter { line in
            guard let colon = line.firstIndex(of: ":") else { return false }  // a line without a colon is skipped
            return echoed.contains(line[..<colon].trimmingCharacters(in: .whitespaces).lowercased())
        }
        guard kept.contains(where: { ["via", "v"].contains($0.prefix { $0 != ":" }.trimmingCharacters(in: .whitespaces).lowercased()) })
        else { return nil }
        var answer = "SIP/2.0 \(status) \(sipError.reasonPhrase) (\(sipError.detail))\r\n"
        for line in kept { answer += line + "\r\n" }
        answer += "Content-Length: 0\r\n\r\n"
        return ByteBuffer(string: answer)
    }
}
