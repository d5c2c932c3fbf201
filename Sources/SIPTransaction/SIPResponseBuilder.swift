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
        var headers = SIPHeaders()
        for via in request.headers.lines(.via) { headers.append(.via, via) }
        if let from = request.headers[.from] { headers.append(.from, from) }
        if let to = request.headers[.to] {
            if statusCode > 100, let toTag, var address = parsedTo ?? (try? NameAddress(parsing: to, header: .to)),
               !address.parameters.contains("tag") {
                address.parameters.set("tag", toTag)
                headers.append(.to, address.description)
            } else {
                headers.append(.to, to)
            }
        }
        if let callID = request.callID { headers.append(.callID, callID) }
        if let cseq = request.headers[.cseq] { headers.append(.cseq, cseq) }
        headers.append(.contentLength, "0")
        return SIPMessage.response(statusCode: statusCode, reasonPhrase: reasonPhrase, headers: headers)
    }
}
