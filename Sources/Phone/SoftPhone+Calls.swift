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
        var answer: SIPMessage?
        var incoming: SIPStack.IncomingRequest?
        var cseq = 1
    }

    /// Calls `user` and returns the call's id once the INVITE is sent; progress arrives on ``events``.
    @discardableResult
    public func call(_ user: String, sdp: String = "v=0\r\n") throws -> String {
        guard let flow = currentFlow else { throw SIPTransportError(detail: "not connected to an edge") }
        let callID = "call-\(UUID().uuidString.lowercased())"
        let local = ProxyForwarder.hostPort(flow.local)
        var invite = SIPMessage.request(method: "INVITE", uri: "sip:\(user)@\(configuration.domain)")
        invite.headers.append(.via, "SIP/2.0/TLS \(local);branch=z9hG4bK-inv-\(UInt64.random(in: 1...UInt64.max));rport")
        invite.headers.append(.maxForwards, "70")
        invite.headers.append(.from, "<sip:\(configuration.user)@\(configuration.domain)>;tag=\(UInt32.random(in: 1...UInt32.max))")
        invite.headers.append(.to, "<sip:\(user)@\(configuration.domain)>")
        invite.headers.append(.callID, callID)
        invite.headers.append(.cseq, "1 INVITE")
        invite.headers.append(.contact, "<sip:\(configuration.user)@\(local);transport=tls>")
        invite.setBody(ByteBuffer(string: sdp), contentType: "application/sdp")
        state.withLockedValue { state in
            state.calls[callID] = CallRecord(invite: invite, flow: flow, outgoing: true)
            state.machine.callStarted()
        }
        Task {
            let answer = try? await stack.send(request: invite, on: flow) { [weak self] provisional in
                if provisional.statusLine?.statusCode == 180 { self?.continuation.yield(.call(id: callID, .ringing)) }
            }
            guard let answer, let status = answer.statusLine?.statusCode, (200..<300).contains(status) else {
                endCall(callID, reason: answer?.statusLine.map { "\($0.statusCode) \($0.reasonPhrase)" } ?? "no answer")
                return
            }
            state.withLockedValue { $0.calls[callID]?.answer = answer }
            if let ack = try? inDialog("ACK", callID: callID, cseq: 1) { stack.sendStateless(ack, on: flow) }
            continuation.yield(.call(id: callID, .established))
        }
        return callID
    }

    /// Answers a ringing incoming call with 200 OK.
    public func answer(_ callID: String, sdp: String = "v=0\r\n") {
        guard let record = state.withLockedValue({ $0.calls[callID] }), let incoming = record.incoming else { return }
        var ok = SIPResponseBuilder.response(to: incoming.message, statusCode: 200, reasonPhrase: "OK", toTag: "ph\(configuration.user)")
        ok.headers.append(.contact, "<sip:\(configuration.user)@\(ProxyForwarder.hostPort(record.flow.local));transport=tls>")
        for route in incoming.message.headers.lines(.recordRoute) { ok.headers.append(.recordRoute, route) }
        ok.setBody(ByteBuffer(string: sdp), contentType: "application/sdp")
        state.withLockedValue { $0.calls[callID]?.answer = ok }
        incoming.respond(ok)
        continuation.yield(.call(id: callID, .established))
    }

    /// Ends a call: BYE when it is up, CANCEL while an outgoing one rings, 603 for an incoming one
    /// not answered. The call ends locally even when the far end cannot be reached.
    public func hangUp(_ callID: String) async {
        guard let record = state.withLockedValue({ $0.calls[callID] }) else { return }
        if record.answer != nil, let bye = try? inDialog("BYE", callID: callID, cseq: record.cseq + 1) {
            _ = try? await stack.send(request: bye, on: record.flow)
        } else if let incoming = record.incoming {
            incoming.respond(SIPResponseBuilder.response(to: incoming.message, statusCode: 603, reasonPhrase: "Decline", toTag: "ph\(configuration.user)"))
        } else {
            var cancel = SIPMessage.request(method: "CANCEL", uri: record.invite.requestLine!.uri)
            for name in [SIPHeaderName.via, .from, .to, .callID] {
                for value in record.invite.headers.lines(name) { cancel.headers.append(name, value) }
            }
            cancel.headers.append(.cseq, "1 CANCEL")
            cancel.headers.append(.maxForwards, "70")
            cancel.headers.append(.contentLength, "0")
            _ = try? await stack.send(request: cancel, on: record.flow)
        }
        endCall(callID, reason: "hung up")
    }

    /// The ids of the calls in progress.
    public var activeCalls: [String] {
        state.withLockedValue { Array($0.calls.keys) }
    }

    func endCall(_ callID: String, reason: String) {
        let (removed, last) = state.withLockedValue { state -> (Bool, Bool) in
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

    /// Requests from the edge: a new call rings; BYE and CANCEL end one; OPTIONS is answered.
    func incoming(_ request: SIPStack.IncomingRequest) {
        let message = request.message
        let callID = String(message.callID ?? "")
        switch message.requestLine?.method {
        case "INVITE":
            let from = (try? message.from().uri.description) ?? "?"
            state.withLockedValue { state in
                state.calls[callID] = CallRecord(invite: message, flow: request.flow, outgoing: false, incoming: request)
                state.machine.callStarted()
            }
            request.respond(SIPResponseBuilder.response(to: message, statusCode: 180, reasonPhrase: "Ringing", toTag: "ph\(configuration.user)"))
            continuation.yield(.call(id: callID, .incoming(from: from)))
        case "BYE":
            request.respond(SIPResponseBuilder.response(to: message, statusCode: 200, reasonPhrase: "OK"))
            endCall(callID, reason: "the other side hung up")
        case "CANCEL":
            request.respond(SIPResponseBuilder.response(to: message, statusCode: 200, reasonPhrase: "OK"))
            if let invite = state.withLockedValue({ $0.calls[callID]?.incoming }) {
                invite.respond(SIPResponseBuilder.response(to: invite.message, statusCode: 487, reasonPhrase: "Request Terminated",
                                                           toTag: "ph\(configuration.user)"))
            }
            endCall(callID, reason: "cancelled")
        case "ACK":
            break
        default:
            request.respond(SIPResponseBuilder.response(to: message, statusCode: 200, reasonPhrase: "OK"))
        }
    }
}
