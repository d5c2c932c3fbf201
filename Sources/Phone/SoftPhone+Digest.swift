import SIPCore
import SIPStack
import SIPTransport

/// Digest authentication on every request the phone sends (RFC 3261 §22.2–§22.4): REGISTER
/// through the registration machine, and INVITE and BYE here.
extension SoftPhone {
    /// Credentials answering `challenge` for `request`; the nonce count goes up with each use of
    /// the nonce (RFC 7616 §3.4).
    func credentials(for request: SIPMessage, answering challenge: DigestChallenge) -> (header: SIPHeaderName, value: String) {
        let count = state.withLockedValue { state -> Int in
            state.nonceUses[challenge.nonce, default: 0] += 1
            return state.nonceUses[challenge.nonce, default: 1]
        }
        return DigestClient.credentials(for: request, challenge: challenge, username: configuration.user,
                                        password: configuration.password, nc: count)
    }

    /// Sends `request` and answers up to two challenges (one, and one more when the nonce was
    /// stale): each retry is the request with the next CSeq number, a new branch and the
    /// credentials, told to `resent` before it leaves. Returns the request last sent and its final answer.
    ///
    /// - Throws: ``SIPStackError`` from the transaction (timeout, closed connection).
    func sendAnswering(_ request: SIPMessage, on flow: Flow, resent: @Sendable (SIPMessage) -> Void = { _ in },
                       onProvisional: @escaping @Sendable (SIPMessage) -> Void = { _ in }) async throws -> (request: SIPMessage, answer: SIPMessage) {
        var sent = request
        var answer = try await stack.send(request: sent, on: flow, onProvisional: onProvisional)
        for attempt in 0..<2 {
            guard let status = answer.statusLine?.statusCode, status == 401 || status == 407,
                  let challenge = DigestClient.challenge(in: answer), attempt == 0 || challenge.stale
            else { break }
            sent = retry(sent, on: flow, answering: challenge)
            resent(sent)
            answer = try await stack.send(request: sent, on: flow, onProvisional: onProvisional)
        }
        return (sent, answer)
    }

    /// `request` again (RFC 3261 §22.2): CSeq number one higher, a new top Via branch, the
    /// credentials in place of any earlier ones.
    private func retry(_ request: SIPMessage, on flow: Flow, answering challenge: DigestChallenge) -> SIPMessage {
        var next = request
        let method = request.requestLine?.method ?? "INVITE"
        let number = request.headers[.cseq].flatMap { Int($0.split(separator: " ").first ?? "") } ?? 1
        next.headers.set(.cseq, "\(number + 1) \(method)")
        next.headers.set(.via, "SIP/2.0/TLS \(ProxyForwarder.hostPort(flow.local));branch=z9hG4bK-auth-\(UInt64.random(in: 1...UInt64.max));rport")
        next.headers.remove(.authorization)
        next.headers.remove(.proxyAuthorization)
        let (header, value) = credentials(for: next, answering: challenge)
        next.headers.append(header, value)
        return next
    }
}
