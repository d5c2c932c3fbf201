import SIPCore
import SIPStack
import SIPTransaction

/// The answers an edge or a core gives itself, with its Server header and a To tag drawn from the
/// machine's generator (RFC 3261 §8.2.6.2), and the steps both roles take the same way.
struct ProxyResponder: Sendable {
    /// `Edgeway edge edge-1`.
    let server: String
    /// The first letter of this role's To tags (`e`, `c`).
    let tagPrefix: String
    var tokens: TokenGenerator

    /// A response of this node to `request`.
    mutating func answer(_ request: SIPMessage, _ status: Int, _ reason: String) -> SIPMessage {
        let tag = request.isRequest && status > 100 ? tagPrefix + tokens.nextHex() : nil
        var response = SIPResponseBuilder.response(to: request, statusCode: status, reasonPhrase: reason, toTag: tag)
        response.headers.append(.init("Server"), server)
        return response
    }

    /// The answer that relays `answer` upstream: the response itself, or this node's answer
    /// with the status the failure implies (RFC 3261 §16.7 step 6).
    mutating func relay(_ answer: ProxyForwarder.Answer, to request: SIPMessage) -> SIPMessage {
        switch answer {
        case .response(let response):
            return response
        case .failed(let error):
            let (status, reason) = error.impliedStatus
            return self.answer(request, status, "\(reason) (\(error.detail))")
        }
    }

    /// Both CANCEL answers: 200 when the INVITE is being forwarded, else 481 (RFC 3261 §16.10).
    mutating func cancel(_ request: SIPMessage) -> ProxyAction {
        .cancelForwarded(ok: answer(request, 200, "OK"), unknown: answer(request, 481, "Call/Transaction Does Not Exist"))
    }

    /// SPEC B2: in maintenance, new registrations and calls are refused; dialogs go on.
    mutating func maintenanceRefusal(_ request: SIPMessage, node: String, settings: ProxySettings) -> SIPMessage? {
        guard settings.maintenance, request.requestLine?.method == "REGISTER" || NodeRoute.opensDialog(request) else { return nil }
        return answer(request, 503, "Service Unavailable (\(node) is in maintenance mode)")
    }

    /// A traversal heartbeat's 200 OK carrying this node's information (SPEC B1, B24).
    mutating func heartbeatAnswer(_ request: SIPMessage, own info: TraversalInfo) -> SIPMessage {
        var ok = answer(request, 200, "OK")
        ok.headers.append(TraversalInfo.header, info.headerValue)
        return ok
    }

    /// `answer` unless the request is an ACK, which is never answered (RFC 3261 §17.2.3).
    mutating func refuse(_ request: SIPMessage, _ status: Int, _ reason: String) -> [ProxyAction] {
        request.requestLine?.method == "ACK" ? [] : [.respond(answer(request, status, reason))]
    }
}
