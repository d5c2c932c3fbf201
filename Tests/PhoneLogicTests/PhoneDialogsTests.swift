import PhoneLogic
import Testing

/// RFC 3261 §9.2, §12.2.2, §14.2, §15.1.2: the phone's dialogs as a value.
@Suite("Phone dialogs")
struct PhoneDialogsTests {
    /// A call that came in from tag "far" with CSeq 1, rang with tag "near" and was answered.
    func answered() -> PhoneDialogs {
        var dialogs = PhoneDialogs()
        #expect(dialogs.classify(method: "INVITE", callID: "c1", fromTag: "far", toTag: nil, cseq: 1) == .newCall)
        dialogs.ringing("c1", localTag: "near", remoteTag: "far", cseq: 1)
        dialogs.confirmed("c1")
        return dialogs
    }

    @Test func aCancelAfterTheAnswerChangesNothing() {
        var dialogs = answered()
        #expect(dialogs.classify(method: "CANCEL", callID: "c1", fromTag: "far", toTag: nil, cseq: 1) == .cancelTooLate(callID: "c1"))
        #expect(dialogs.call("c1")?.stage == .confirmed)
    }

    @Test func aCancelBeforeTheAnswerCancelsAndOneForNothingGets481() {
        var dialogs = PhoneDialogs()
        dialogs.ringing("c1", localTag: "near", remoteTag: "far", cseq: 1)
        #expect(dialogs.classify(method: "CANCEL", callID: "c1", fromTag: "far", toTag: nil, cseq: 1) == .cancel(callID: "c1"))
        #expect(dialogs.classify(method: "CANCEL", callID: "c9", fromTag: "far", toTag: nil, cseq: 1)
            == .reject(status: 481, reason: "Call/Transaction Does Not Exist"))
        #expect(dialogs.classify(method: "CANCEL", callID: "c1", fromTag: "other", toTag: nil, cseq: 1)
            == .reject(status: 481, reason: "Call/Transaction Does Not Exist"), "the From tag must match the INVITE's")
    }

    @Test func aReInviteInTheDialogIsAnsweredAndANewCSeqIsRequired() {
        var dialogs = answered()
        #expect(dialogs.classify(method: "INVITE", callID: "c1", fromTag: "far", toTag: "near", cseq: 2) == .reInvite(callID: "c1"))
        #expect(dialogs.classify(method: "INVITE", callID: "c1", fromTag: "far", toTag: "near", cseq: 2)
            == .reject(status: 500, reason: "Server Internal Error (CSeq 2 is not above 2)"))
        #expect(dialogs.classify(method: "INFO", callID: "c1", fromTag: "far", toTag: "near", cseq: 3) == .inDialog(callID: "c1"))
        #expect(dialogs.classify(method: "INVITE", callID: "c1", fromTag: "far", toTag: nil, cseq: 4)
            == .reject(status: 482, reason: "Loop Detected"), "no To tag with the Call-ID of a call in progress")
    }

    @Test func requestsForNoDialogGet481AndStrayACKsAreDropped() {
        var dialogs = answered()
        #expect(dialogs.classify(method: "BYE", callID: "c9", fromTag: "far", toTag: "near", cseq: 5)
            == .reject(status: 481, reason: "Call/Transaction Does Not Exist"))
        #expect(dialogs.classify(method: "BYE", callID: "c1", fromTag: "far", toTag: "wrong", cseq: 5)
            == .reject(status: 481, reason: "Call/Transaction Does Not Exist"), "tags, not the Call-ID alone")
        #expect(dialogs.classify(method: "ACK", callID: "c9", fromTag: "far", toTag: "near", cseq: 1) == .ignore)
        #expect(dialogs.classify(method: "ACK", callID: "c1", fromTag: "far", toTag: "near", cseq: 1) == .ack(callID: "c1"))
        #expect(dialogs.classify(method: "OPTIONS", callID: "c7", fromTag: "x", toTag: nil, cseq: 1) == .outOfDialog)
        #expect(dialogs.classify(method: "BYE", callID: "c1", fromTag: "far", toTag: "near", cseq: 5) == .bye(callID: "c1"))
    }

    @Test func aCallThisPhoneMadeMatchesTheFarEndsTagOnceAnswered() {
        var dialogs = PhoneDialogs()
        dialogs.calling("c2", localTag: "mine")
        #expect(dialogs.classify(method: "BYE", callID: "c2", fromTag: "theirs", toTag: "mine", cseq: 1)
            == .reject(status: 481, reason: "Call/Transaction Does Not Exist"), "no dialog before the 2xx")
        dialogs.confirmed("c2", remoteTag: "theirs")
        #expect(dialogs.classify(method: "BYE", callID: "c2", fromTag: "theirs", toTag: "mine", cseq: 1) == .bye(callID: "c2"))
        dialogs.ended("c2")
        #expect(dialogs.call("c2") == nil)
    }
}
