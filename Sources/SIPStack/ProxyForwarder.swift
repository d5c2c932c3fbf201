import NIOConcurrencyHelpers
import NIOCore
import SIPCore
import SIPTransaction
import SIPTransport

/// Forwards a request statefully once a role has chosen where it goes (RFC 3261 §16.6–16.7):
/// Max-Forwards, a Via of this node, a client transaction whose answers come back to the role
/// with this node's Via removed, ACK for a 2xx sent on without a transaction, and CANCEL matched
/// to the INVITE it cancels. Nothing here waits in a task: answers arrive as callbacks on the
/// event loop of the client transaction.
public final class ProxyForwarder: Sendable {
    /// An answer to a forwarded request, for the role to relay upstream.
    public enum Answer: Sendable {
        /// A provisional (other than 100) or final response, this node's Via removed.
        case response(SIPMessage)
        /// No final response will come; the role answers with ``SIPStackError/impliedStatus``
        /// (RFC 3261 §16.7 step 6), or 483 when Max-Forwards was exhausted here (§16.3 step 3).
        case failed(SIPStackError)
    }

    private let stack: SIPStack
    /// INVITEs being forwarded, by the upstream top Via branch and then by their own branch (one
    /// upstream INVITE forked to several targets), for CANCEL (RFC 3261 §16.10).
    private let pendingInvites = NIOLockedValueBox<[String: [String: (request: SIPMessage, flow: Flow)]]>([:])

    /// The calls forwarded through this node, for `xstatus Calls`.
    public let calls: CallTable

    /// A forwarder on a stack; `calls` keeps the calls it carries.
    public init(stack: SIPStack, calls: CallTable = CallTable()) {
        self.stack = stack
        self.calls = calls
    }

    /// Sends `outgoing` (the request as this node changed it: Route, Record-Route, Path, …) on
    /// `flow`; `onAnswer` gets each provisional and the final answer, in order (never for an ACK).
    /// - Parameters:
    ///   - upstreamBranch: the top Via branch of the request as received, which a CANCEL for it names.
    ///   - upstream: the flow the request came in on, the call's incoming leg in ``calls``.
    public func forward(_ outgoing: SIPMessage, on flow: Flow, upstreamBranch: Substring?, upstream: Flow? = nil,
                        onAnswer: @escaping @Sendable (Answer) -> Void) {
        let method = outgoing.requestLine?.method ?? ""
        let maxForwards = outgoing.maxForwards ?? 70
        guard maxForwards > 0 else {
            if method != "ACK" { onAnswer(.failed(SIPStackError(.tooManyHops, "Max-Forwards reached 0"))) }
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
        if method == "BYE" { calls.note(request, incoming: upstream, outgoing: flow, response: nil) }
        let inviteKey = method == "INVITE" ? upstreamBranch.map(String.init) : nil
        if let inviteKey {
            pendingInvites.withLockedValue { $0[inviteKey, default: [:]][branch] = (request, flow) }
        }
        let final = stack.sendFuture(request: request, on: flow) { provisional in
            guard provisional.statusLine?.statusCode != 100 else { return }
            var copy = provisional
            copy.removeTopVia()
            onAnswer(.response(copy))
        }
        final.whenComplete { [pendingInvites, calls, request] result in
            if let inviteKey {
                pendingInvites.withLockedValue { pending in
                    pending[inviteKey]?[branch] = nil
                    if pending[inviteKey]?.isEmpty == true { pending[inviteKey] = nil }
                }
            }
            switch result {
            case .success(let response):
                calls.note(request, incoming: upstream, outgoing: flow, response: response)
                var copy = response
                copy.removeTopVia()
                onAnswer(.response(copy))
            case .failure(let error as SIPStackError):
                calls.note(request, incoming: upstream, outgoing: flow, response: nil)
                onAnswer(.failed(error))
            case .failure(let error):
                calls.note(request, incoming: upstream, outgoing: flow, response: nil)
                onAnswer(.failed(SIPStackError(.transportFailed, "\(error)")))
            }
        }
    }

    /// Cancels downstream the INVITE a CANCEL names, on every branch it was forked to (RFC 3261
    /// §16.10): `true` when such an INVITE is being forwarded (answer the CANCEL 200), `false`
    /// when none is (481).
    public func cancel(_ cancel: SIPMessage) -> Bool {
        guard let branch = try? cancel.topVia().branch else { return false }
        return cancelForwarded(upstreamBranch: branch)
    }

    /// Cancels every branch still pending of the INVITE received with `upstreamBranch` (§16.7
    /// step 10: once a branch answered 2xx or 6xx); `false` when none is pending.
    @discardableResult
    public func cancelForwarded(upstreamBranch: Substring) -> Bool {
        let branches = pendingInvites.withLockedValue { $0[String(upstreamBranch)].map { Array($0.values) } ?? [] }
        for (invite, flow) in branches { sendCancel(for: invite, on: flow) }
        return !branches.isEmpty
    }

    private func sendCancel(for invite: SIPMessage, on flow: Flow) {
        guard case .request(var line) = invite.startLine, let cseq = try? invite.cseq() else { return }
        line.method = "CANCEL"
        var downstream = SIPMessage(startLine: .request(line))
        if let via = try? invite.topVia() { downstream.headers.append(.via, via.description) }
        for name in [SIPHeaderName.from, .to, .callID, .route] {
            for value in invite.headers.lines(name) { downstream.headers.append(name, value) }
        }
        downstream.headers.append(.cseq, "\(cseq.sequence) CANCEL")
        downstream.headers.append(.maxForwards, "70")
        downstream.headers.append(.contentLength, "0")
        _ = stack.sendFuture(request: downstream, on: flow)
    }

    /// `host:port` of a socket address, IPv6 in brackets.
    public static func hostPort(_ address: SocketAddress) -> String {
        let host = address.ipAddress ?? "127.0.0.1"
        let port = address.port ?? 5060
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
