import Foundation
import NIOCore
import SIPCore
import SIPStack
import SIPTransaction
import SIPTransport

/// Calls (SPEC B20) without media: the SDP offer and answer pass through as given. While any call
/// is up the registration machine defers failovers (B17).
extension SoftPhone {
    struct CallRecord: Sendable {
        var invite: SIPMessage
        var flow: Flow
        var outgoing: Bool
        /// This phone's tag in the dialog (From of its INVITE, or To of its answers).
        var localTag: String
        var answer: SIPMessage?
        var incoming: SIPStack.IncomingRequest?
        var cseq = 1
    }

    /// Calls `target` — a user of the phone's domain (`bob`) or an address (`bob@example.com`,
    /// `sip:bob@example.com`) — and returns the call's id once the INVITE is sent; progress
    /// arrives on ``events``.
    @discardableResult
    public func call(_ target: String, sdp: String = "v=0\r\n") throws -> String {
        let address = target.lowercased().hasPrefix("sip:") ? String(target.dropFirst(4)) : target
        let uri = address.contains("@") ? "sip:\(address)" : "sip:\(address)@\(configuration.domain)"
        guard let flow = currentFlow else { throw SIPTransportError(detail: "not connected to an edge") }
        let callID = "call-\(UUID().uuidString.lowercased())"
        let tag = String(UInt32.random(in: 1...UInt32.max))
        let local = ProxyForwarder.hostPort(flow.local)
        var invite = SIPMessage.request(method: "INVITE", uri: uri)
        invite.headers.append(.via, "SIP/2.0/TLS \(local);branch=z9hG4bK-inv-\(UInt64.random(in: 1...UInt64.max));rport")
        invite.headers.append(.maxForwards, "70")
        invite.headers.append(.from, "<sip:\(configuration.user)@\(configuration.domain)>;tag=\(tag)")
        invite.headers.append(.to, "<\(uri)>")
        invite.headers.append(.callID, callID)
        invite.headers.append(.cseq, "1 INVITE")
        invite.headers.append(.contact, "<sip:\(configuration.user)@\(local);transport=tls>")
        invite.setBody(ByteBuffer(string: sdp), contentType: "application/sdp")
        state.withLockedValue { state in
            state.calls[callID] = CallRecord(invite: invite, flow: flow, outgoing: true, localTag: tag)
            state.dialogs.calling(callID, localTag: tag)
            state.machine.callStarted()
        }
        Task {
            // A challenged INVITE goes again with credentials; CANCEL and ACK follow the one last sent.
            let result = try? await sendAnswering(invite, on: flow, resent: { [state] sent in
                state.withLockedValue { $0.calls[callID]?.invite = sent }
            }, onProvisional: { [weak self] provisional in
                if provisional.statusLine?.statusCode == 180 { self?.continuation.yield(.call(id: callID, .ringing)) }
            })
            guard let (sent, answer) = result, let status = answer.statusLine?.statusCode, (200..<300).contains(status) else {
                endCall(callID, reason: result.flatMap { $0.answer.statusLine.map { "\($0.statusCode) \($0.reasonPhrase)" } } ?? "no answer")
                return
            }
            let remoteTag = (try? answer.to())?.parameters["tag"].map(String.init)
            state.withLockedValue { state in
                state.calls[callID]?.answer = answer
                state.dialogs.confirmed(callID, remoteTag: remoteTag)
            }
            let number = sent.headers[.cseq].flatMap { Int($0.split(separator: " ").first ?? "") } ?? 1
            if var ack = try? inDialog("ACK", callID: callID, cseq: number) {
                // RFC 3261 §13.2.2.4: the ACK carries the credentials the INVITE carried.
                for name in [SIPHeaderName.authorization, .proxyAuthorization] {
                    for value in sent.headers.lines(name) { ack.headers.append(name, value) }
                }
                stack.sendStateless(ack, on: flow)
            }
            continuation.yield(.call(id: callID, .established))
        }
        return callID
    }

    /// Answers a ringing incoming call with 200 OK.
    public func answer(_ callID: String, sdp: String = "v=0\r\n") {
        guard let record = state.withLockedValue({ $0.calls[callID] }), let incoming = record.incoming else { return }
        var ok = SIPResponseBuilder.response(to: incoming.message, statusCode: 200, reasonPhrase: "OK", toTag: record.localTag)
        ok.headers.append(.contact, "<sip:\(configuration.user)@\(ProxyForwarder.hostPort(record.flow.local));transport=tls>")
        for route in incoming.message.headers.lines(.recordRoute) { ok.headers.append(.recordRoute, route) }
        ok.setBody(ByteBuffer(string: sdp), contentType: "application/sdp")
        state.withLockedValue { state in
            state.calls[callID]?.answer = ok
            state.dialogs.confirmed(callID)
        }
        incoming.respond(ok)
        continuation.yield(.call(id: callID, .established))
    }

    /// Ends a call: BYE when it is up, CANCEL while an outgoing one rings, 603 for an incoming one
    /// not answered. The call ends here at once; the BYE or CANCEL goes on in the background, so a
    /// far end that cannot be reached (its transaction times out after 32 s) holds nothing up.
    public func hangUp(_ callID: String) async {
        end(callID, reason: "hung up")
    }

    /// ``hangUp(_:)`` with the reason the call's end gives (`hung up`, or why the phone ended it).
    func end(_ callID: String, reason: String) {
        guard let record = state.withLockedValue({ $0.calls[callID] }) else { return }
        if record.answer != nil, let bye = try? inDialog("BYE", callID: callID, cseq: record.cseq + 1) {
            endCall(callID, reason: reason)
            Task { _ = try? await self.sendAnswering(bye, on: record.flow) }
            return
        } else if let incoming = record.incoming {
            incoming.respond(SIPResponseBuilder.response(to: incoming.message, statusCode: 603, reasonPhrase: "Decline", toTag: record.localTag))
        } else {
            var cancel = SIPMessage.request(method: "CANCEL", uri: record.invite.requestLine!.uri)
            for name in [SIPHeaderName.via, .from, .to, .callID] {
                for value in record.invite.headers.lines(name) { cancel.headers.append(name, value) }
            }
            // RFC 3261 §9.1: the CSeq number of the INVITE it cancels; a CANCEL is never challenged (§22.1).
            let number = record.invite.headers[.cseq].flatMap { $0.split(separator: " ").first } ?? "1"
            cancel.headers.append(.cseq, "\(number) CANCEL")
            cancel.headers.append(.maxForwards, "70")
            cancel.headers.append(.contentLength, "0")
            endCall(callID, reason: reason)
            Task { [stack] in _ = try? await stack.send(request: cancel, on: record.flow) }
            return
        }
        endCall(callID, reason: reason)
    }

    /// The ids of the calls in progress.
    public var activeCalls: [String] {
        state.withLockedValue { Array($0.calls.keys) }
    }

    func endCall(_ callID: String, reason: String) {
        let (removed, last) = state.withLockedValue { state -> (Bool, Bool) in
            state.dialogs.ended(callID)
            guard state.calls.removeValue(forKey: callID) != nil else { return (false, false) }
            return (true, state.calls.isEmpty)
        }
        guard removed else { return }
        continuation.yield(.call(id: callID, .ended(reason: reason)))
        if last { step { $0.callEnded(now: $1) } }
    }

    /// A request in a call's dialog (RFC 3261 §12.2.1.1): the route set from Record-Route, the
    /// remote target from the far end's Contact.
    func inDialog(_ method: String, callID: String, cseq: Int) throws -> SIPMessage {
        guard let record = state.withLockedValue({ $0.calls[callID] }), let answer = record.answer else {
            throw SIPTransportError(detail: "no dialog for \(callID)")
        }
        let remote = record.outgoing ? answer : record.incoming!.message
        let target = try remote.contacts().first?.uri.description ?? String(record.invite.requestLine?.uri ?? "")
        var routes = try answer.nameAddresses(.recordRoute)
        if record.outgoing { routes.reverse() }
        var request = SIPMessage.request(method: method, uri: target)
        request.headers.append(.via, "SIP/2.0/TLS \(ProxyForwarder.hostPort(record.flow.local));branch=z9hG4bK-\(method.lowercased())-\(UInt64.random(in: 1...UInt64.max));rport")
        request.headers.append(.maxForwards, "70")
        if record.outgoing {
            request.headers.append(.from, record.invite.headers[.from]!)
            request.headers.append(.to, answer.headers[.to]!)
        } else {
            request.headers.append(.from, answer.headers[.to]!)
            request.headers.append(.to, record.invite.headers[.from]!)
        }
        request.headers.append(.callID, callID)
        request.headers.append(.cseq, "\(cseq) \(method)")
        for route in routes { request.headers.append(.route, route.description) }
        request.headers.append(.contentLength, "0")
        state.withLockedValue { $0.calls[callID]?.cseq = cseq }
        return request
    }

    /// Requests from the edge, by the dialog they belong to (RFC 3261 §12.2.2): a new call rings;
    /// a re-INVITE is answered 200 and the call goes on; BYE ends a call, CANCEL one not yet
    /// answered; a request for no dialog gets 481.
    func incoming(_ request: SIPStack.IncomingRequest) {
        let message = request.message
        let callID = String(message.callID ?? "")
        let method = message.requestLine?.method ?? ""
        let verdict = state.withLockedValue { state in
            state.dialogs.classify(method: method, callID: callID,
                                   fromTag: (try? message.from())?.parameters["tag"].map(String.init),
                                   toTag: (try? message.to())?.parameters["tag"].map(String.init),
                                   cseq: message.headers[.cseq].flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0)
        }
        func respond(_ status: Int, _ reason: String, to message: SIPMessage = message, toTag: String? = nil) -> SIPMessage {
            SIPResponseBuilder.response(to: message, statusCode: status, reasonPhrase: reason, toTag: toTag)
        }
        switch verdict {
        case .newCall:
            let tag = "ph" + String(UInt32.random(in: 1...UInt32.max))
            let from = (try? message.from())
            state.withLockedValue { state in
                state.calls[callID] = CallRecord(invite: message, flow: request.flow, outgoing: false, localTag: tag, incoming: request)
                state.dialogs.ringing(callID, localTag: tag, remoteTag: from?.parameters["tag"].map(String.init),
                                      cseq: message.headers[.cseq].flatMap { Int($0.split(separator: " ").first ?? "") } ?? 0)
                state.machine.callStarted()
            }
            request.respond(respond(180, "Ringing", toTag: tag))
            continuation.yield(.call(id: callID, .incoming(from: from?.uri.description ?? "?")))
        case .reInvite(let id):
            // §14.2: the session goes on; the answer repeats this phone's session description.
            let record = state.withLockedValue { $0.calls[id] }
            var ok = respond(200, "OK")
            ok.headers.append(.contact, "<sip:\(configuration.user)@\(ProxyForwarder.hostPort(request.flow.local));transport=tls>")
            if let body = (record?.outgoing == true ? record?.invite : record?.answer)?.body, body.readableBytes > 0 {
                ok.setBody(body, contentType: "application/sdp")
            }
            request.respond(ok)
        case .bye(let id):
            request.respond(respond(200, "OK"))
            // §15.1.2: an INVITE still ringing gets its final answer too.
            if let record = state.withLockedValue({ $0.calls[id] }), record.answer == nil, let invite = record.incoming {
                invite.respond(respond(487, "Request Terminated", to: invite.message, toTag: record.localTag))
            }
            endCall(id, reason: "the other side hung up")
        case .cancel(let id):
            request.respond(respond(200, "OK"))
            if let record = state.withLockedValue({ $0.calls[id] }), let invite = record.incoming {
                invite.respond(respond(487, "Request Terminated", to: invite.message, toTag: record.localTag))
            }
            endCall(id, reason: "cancelled")
        case .cancelTooLate, .inDialog, .outOfDialog:
            request.respond(respond(200, "OK"))
        case .ack, .ignore:
            break
        case .reject(let status, let reason):
            request.respond(respond(status, reason))
        }
    }
}
