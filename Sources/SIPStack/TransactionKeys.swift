import SIPCore

/// Matches a request to its server transaction (RFC 3261 §17.2.3): the top Via's branch and
/// sent-by, and the method (an ACK matches the INVITE's transaction).
struct ServerTransactionKey: Hashable, Sendable {
    let branch: String
    let sentBy: String
    let method: String
    /// The three parts hashed once when the key is made: the transaction table hashes a key
    /// several times per request (insert, lookups, removal), and each time only this is mixed.
    private let digest: Int

    static func == (lhs: ServerTransactionKey, rhs: ServerTransactionKey) -> Bool {
        lhs.digest == rhs.digest && lhs.branch == rhs.branch && lhs.sentBy == rhs.sentBy && lhs.method == rhs.method
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(digest)
    }

    /// The key of `request`, whose top Via is `topVia` (read it with `request.topVia()` when
    /// it is not at hand).
    init?(_ request: SIPMessage, topVia: Via?) {
        guard let line = request.requestLine, let via = topVia, let branch = via.branch,
              via.hasRFC3261Branch else { return nil }
        self.branch = String(branch)
        var sentBy = String(via.host)
        if sentBy.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) { sentBy = sentBy.lowercased() }
        sentBy.append(":")
        sentBy.append(String(via.port ?? 0))
        self.sentBy = sentBy
        self.method = line.method == "ACK" ? "INVITE" : line.method
        var hasher = Hasher()
        hasher.combine(self.branch)
        hasher.combine(self.sentBy)
        hasher.combine(self.method)
        digest = hasher.finalize()
    }
}

/// Matches a response to its client transaction (RFC 3261 §17.1.3): the top Via's branch and
/// the CSeq method.
struct ClientTransactionKey: Hashable, Sendable {
    var branch: String
    var method: String

    init?(branch: Substring?, method: String?) {
        guard let branch, let method else { return nil }
        self.branch = String(branch)
        self.method = method == "ACK" ? "INVITE" : method
    }

    init?(_ response: SIPMessage) {
        self.init(branch: (try? response.topVia())?.branch, method: try? response.cseq().method)
    }
}
