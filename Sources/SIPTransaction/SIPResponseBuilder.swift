import SIPCore

/// Builds responses to requests (RFC 3261 §8.2.6.2): Via, From, To, Call-ID and CSeq copied,
/// a To tag added for final responses when the request had none.
public enum SIPResponseBuilder {
    /// A response to `request`.
    ///
    /// - Parameters:
    ///   - toTag: the tag to put on To when it has none (ignored for 100 Trying).
    ///   - parsedTo: the request's To header, parsed, when the caller already has it.
    public static func response(to request: SIPMessage, statusCode: Int, reasonPhrase: String,
                                toTag: String? = nil, parsedTo: NameAddress? = nil) -> SIPMessage {
        var headers = SIPHeaders(sharingTextOf: request.headers)
        headers.appendFields(.via, from: request.headers)
        headers.appendFields(.from, from: request.headers, limit: 1)
        if let to = request.headers[.to] {
            if statusCode > 100, let toTag, var address = parsedTo ?? (try? NameAddress(parsing: to, header: .to)),
               !address.parameters.contains("tag") {
                address.parameters.set("tag", toTag)
                headers.append(.to, address.description)
            } else {
                headers.appendFields(.to, from: request.headers, limit: 1)
            }
        }
        headers.appendFields(.callID, from: request.headers, limit: 1)
        headers.appendFields(.cseq, from: request.headers, limit: 1)
        headers.append(.contentLength, "0")
        return SIPMessage.response(statusCode: statusCode, reasonPhrase: reasonPhrase, headers: headers)
    }
}
