import NIOConcurrencyHelpers
import NIOCore
import SIPCore
import SIPTransaction
import SIPTransport

/// Forwards a request statefully once a role has chosen where it goes (RFC 3261 §16.6–16.7):
/// Max-Forwards, a Via of this node, a client transaction whose provisional and final answers go
/// back through the server transaction, ACK for a 2xx sent on without a transaction, and CANCEL
/// matched to the INVITE it cancels.
public final class ProxyForwarder: Sendable {
    private let stack: SIPStack
    /// INVITEs being forwarded, by the upstream top Via branch, for CANCEL (RFC 3261 §16.10).
    private let pendingInvites = NIOLockedValueBox<[String: (request: SIPMessage, flow: Flow)]>([:])

    /// A forwarder on a stack.
    public init(stack: SIPStack) {
        self.stack = stack
    }

    /// Sends `outgoing` (the request as this node changed it: Route, Record-Route, Path, …) on
    /// `flow` and relays the answers upstream through `relay` (which may change a response).
    /// `answer` builds a response of this node to the request.
    public func forward(_ incoming: SIPStack.IncomingRequest, _ outgoing: SIPMessage, on flow: Flow,
                        answer: (Int, String) -> SIPMessage,
                        relay: @escaping @Sendable (SIPMessage) -> SIPMessage = { $0 }) async {
        let method = outgoing.requestLine?.method ?? ""
        let maxForwards = outgoing.maxForwards ?? 70
        guard maxForwards > 0 else {
            if method != "ACK" { incoming.respond(answer(483, "Too Many Hops")) }
            return
        }
        var request = outgoing
        request.headers.set(.maxForwards, String(maxForwards - 1))
        let branch = "z9hG4bK-ew-\(RandomTokens.next())"
        request.headers.prepend(.via, "SIP/2.0/\(flow.transport.viaName) \(Self.hostPort(flow.local));branch=\(branch);rport")
        if method == "ACK" {
            stack.sendStateless(request, on: flow)
            return
        }
        let upstreamBranch = (try? incoming.message.topVia().branch).map(String.init)
        if method == "INVITE", let upstreamBranch {
            pendingInvites.withLockedValue { $0[upstreamBranch] = (request, flow) }
        }
        defer {
            if method == "INVITE", let upstreamBranch { pendingInvites.withLockedValue { _ = $0.removeValue(forKey: upstreamBranch) } }
        }
        do {
            let final = try await stack.send(request: request, on: flow) { provisional in
                guard provisional.statusLine?.statusCode != 100 else { return }
                var copy = provisional
                copy.removeTopVia()
                incoming.respond(relay(copy))
            }
            var copy = final
            copy.removeTopVia()
            incoming.respond(relay(copy))
        } catch {
            // RFC 3261 §16.7 step 6: a timeout is a 408, a transport failure a 503.
            let timedOut = "\(error)".hasPrefix("408")
            incoming.respond(answer(timedOut ? 408 : 503, timedOut ? "Request Timeout (the next hop did not answer)"
                                                                  : "Service Unavailable (\(error))"))
        }
    }

    /// Answers a CANCEL hop by hop and cancels the INVITE it names downstream (RFC 3261 §16.10);
    /// 481 when no such INVITE is being forwarded.
    public func cancel(_ incoming: SIPStack.IncomingRequest, answer: (Int, String) -> SIPMessage) async {
        guard let branch = (try? incoming.message.topVia().branch).map(String.init),
              let (invite, flow) = pendingInvites.withLockedValue({ $0[branch] }),
              case .request(var line) = invite.startLine, let cseq = try? invite.cseq()
        else {
            incoming.respond(answer(481, "Call/Transaction Does Not Exist"))
            return
        }
        incoming.respond(answer(200, "OK"))
        line.method = "CANCEL"
        var cancel = SIPMessage(startLine: .request(line))
        if let via = try? invite.topVia() { cancel.headers.append(.via, via.description) }
        for name in [SIPHeaderName.from, .to, .callID, .route] {
            for value in invite.headers.lines(name) { cancel.headers.append(name, value) }
        }
        cancel.headers.append(.cseq, "\(cseq.sequence) CANCEL")
        cancel.headers.append(.maxForwards, "70")
        cancel.headers.append(.contentLength, "0")
        _ = try? await stack.send(request: cancel, on: flow)
    }

    /// `host:port` of a socket address, IPv6 in brackets.
    public static func hostPort(_ address: SocketAddress) -> String {
        let host = address.ipAddress ?? "127.0.0.1"
        let port = address.port ?? 5060
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
