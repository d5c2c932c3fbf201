/// The phone's calls as RFC 3261 §12 dialogs, as a value: which call a request from the network
/// belongs to — by Call-ID and both tags, not by Call-ID alone — and the answer the RFC gives to
/// one that belongs to none. The runtime keeps the messages; this keeps the protocol state.
public struct PhoneDialogs: Sendable, Equatable {
    /// Where a call is.
    public enum Stage: Sendable, Equatable {
        /// This phone sent an INVITE and has no final answer yet.
        case calling
        /// An INVITE came and this phone has not answered it finally (it rings).
        case ringing
        /// A 2xx was sent or received: the dialog is confirmed (§12.1).
        case confirmed
    }

    /// One call: its Call-ID, this phone's tag and the far end's (known once it answered, for a call this phone made).
    public struct Call: Sendable, Equatable {
        public var callID: String
        public var localTag: String
        public var remoteTag: String?
        public var stage: Stage
        /// The highest CSeq number the far end used in the dialog (§12.2.2).
        public var remoteCSeq: Int
    }

    /// What to do with a request from the network.
    public enum Verdict: Sendable, Equatable {
        /// An INVITE outside any dialog: a new incoming call.
        case newCall
        /// Any other request outside a dialog (OPTIONS, say): answer it on its own.
        case outOfDialog
        /// An INVITE in a confirmed dialog (§14.2): answer it finally, the call goes on.
        case reInvite(callID: String)
        /// A BYE in a dialog (§15.1.2): 200, and the call ends.
        case bye(callID: String)
        /// A CANCEL for an INVITE this phone has not answered (§9.2): 200, then 487 to the INVITE.
        case cancel(callID: String)
        /// A CANCEL for an INVITE already answered (§9.2): 200, and nothing else changes.
        case cancelTooLate(callID: String)
        /// An ACK in a dialog: nothing to answer.
        case ack(callID: String)
        /// Another request in a confirmed dialog (INFO, UPDATE, …): answer it, the call goes on.
        case inDialog(callID: String)
        /// An ACK that matches nothing: dropped (§17.2.3).
        case ignore
        /// Refused with this status and reason: 481 for no such dialog or transaction (§12.2.2,
        /// §9.2, §15.1.2), 500 for a CSeq lower than the last (§12.2.2), 482 for a second INVITE
        /// with the Call-ID of a call in progress and no To tag (§8.2.2.2).
        case reject(status: Int, reason: String)
    }

    private var calls: [String: Call] = [:]

    /// No calls.
    public init() {}

    /// The call with this Call-ID.
    public func call(_ callID: String) -> Call? { calls[callID] }

    /// This phone sent an INVITE with `localTag` in its From.
    public mutating func calling(_ callID: String, localTag: String) {
        calls[callID] = Call(callID: callID, localTag: localTag, remoteTag: nil, stage: .calling, remoteCSeq: 0)
    }

    /// An INVITE came (``Verdict/newCall``) and this phone answers it with `localTag` in its To.
    public mutating func ringing(_ callID: String, localTag: String, remoteTag: String?, cseq: Int) {
        calls[callID] = Call(callID: callID, localTag: localTag, remoteTag: remoteTag, stage: .ringing, remoteCSeq: cseq)
    }

    /// A 2xx was sent (an incoming call) or received with the far end's tag (an outgoing one).
    public mutating func confirmed(_ callID: String, remoteTag: String? = nil) {
        calls[callID]?.stage = .confirmed
        if let remoteTag { calls[callID]?.remoteTag = remoteTag }
    }

    /// The call is over.
    public mutating func ended(_ callID: String) {
        calls[callID] = nil
    }

    /// Which call `method` belongs to, from the request's Call-ID, From tag, To tag and CSeq number.
    public mutating func classify(method: String, callID: String, fromTag: String?, toTag: String?, cseq: Int) -> Verdict {
        let call = calls[callID]
        if method == "CANCEL" {
            // §9.2: a CANCEL matches the INVITE it cancels (same Call-ID, From tag, To as sent).
            guard let call, call.stage != .calling, call.remoteTag == fromTag else {
                return .reject(status: 481, reason: "Call/Transaction Does Not Exist")
            }
            return call.stage == .ringing ? .cancel(callID: callID) : .cancelTooLate(callID: callID)
        }
        guard let toTag else {
            guard method == "INVITE" else { return method == "ACK" ? .ignore : .outOfDialog }
            return call == nil ? .newCall : .reject(status: 482, reason: "Loop Detected")
        }
        guard var call, call.localTag == toTag, call.remoteTag == fromTag, call.stage == .confirmed || method == "BYE" else {
            return method == "ACK" ? .ignore : .reject(status: 481, reason: "Call/Transaction Does Not Exist")
        }
        if method == "ACK" { return .ack(callID: callID) }
        guard cseq > call.remoteCSeq else {
            return .reject(status: 500, reason: "Server Internal Error (CSeq \(cseq) is not above \(call.remoteCSeq))")
        }
        call.remoteCSeq = cseq
        calls[callID] = call
        switch method {
        case "INVITE": return .reInvite(callID: callID)
        case "BYE": return .bye(callID: callID)
        default: return .inDialog(callID: callID)
        }
    }
}
