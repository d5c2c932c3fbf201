import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SIPCore
import SIPTransaction
import SIPTransport
import Testing
@testable import SIPStack

/// The calls a forwarder lists (`xstatus Calls`): a dialog from its INVITE's 2xx (RFC 3261 §12)
/// until a BYE (§15), a 481 or 408 within it (§12.2.1.2), or its maximum age.
@Suite("Call table")
struct CallTableTests {
    private static let flow = Flow(transport: .tls, local: try! SocketAddress(ipAddress: "127.0.0.1", port: 5061),
                                   remote: try! SocketAddress(ipAddress: "127.0.0.1", port: 40_001), connectionID: 1)

    private static func ok(_ request: SIPMessage, _ status: Int = 200) -> SIPMessage {
        SIPResponseBuilder.response(to: request, statusCode: status, reasonPhrase: "X", toTag: "b")
    }

    @Test func aCallLastsFromItsTwoHundredUntilItsBye() {
        let table = CallTable()
        let invite = SIPStackDrainTests.message("INVITE", branch: "z9hG4bK-1")
        table.note(invite, incoming: Self.flow, outgoing: Self.flow, response: Self.ok(invite, 180))
        #expect(table.current.isEmpty, "ringing is not a call yet")
        table.note(invite, incoming: Self.flow, outgoing: Self.flow, response: Self.ok(invite))
        #expect(table.current.map(\.callID) == ["drain-call"])
        #expect(table.current.first?.caller == "sip:alice@example.com" && table.current.first?.callee == "sip:bob@example.com")
        // The BYE from the callee: From and To swapped, the same dialog.
        let bye = try! SIPParser.parse("""
            BYE sip:alice@127.0.0.1 SIP/2.0\r
            Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-2\r
            From: <sip:bob@example.com>;tag=b\r
            To: <sip:alice@example.com>;tag=a\r
            Call-ID: drain-call\r
            CSeq: 1 BYE\r
            Content-Length: 0\r
            \r

            """)
        table.note(bye, incoming: Self.flow, outgoing: Self.flow, response: nil)
        #expect(table.current.isEmpty, "the callee's BYE ended it")
    }

    @Test func aCallEndsOnA481WithinItOrAtItsMaximumAge() {
        let now = NIOLockedValueBox(Date(timeIntervalSince1970: 1_000_000))
        let table = CallTable(clock: { now.withLockedValue { $0 } })
        let invite = SIPStackDrainTests.message("INVITE", branch: "z9hG4bK-1")
        table.note(invite, incoming: nil, outgoing: Self.flow, response: Self.ok(invite))
        let reinvite = SIPStackDrainTests.message("INVITE", branch: "z9hG4bK-3", cseq: "2 INVITE", toTag: "b")
        table.note(reinvite, incoming: nil, outgoing: Self.flow, response: Self.ok(reinvite, 481))
        #expect(table.current.isEmpty, "481: the dialog is gone")

        table.note(invite, incoming: nil, outgoing: Self.flow, response: Self.ok(invite))
        now.withLockedValue { $0 += CallTable.maximumAge - 1 }
        #expect(table.current.count == 1)
        now.withLockedValue { $0 += 2 }
        #expect(table.current.isEmpty, "a call without a BYE for 12 hours is dropped")
    }

    /// A call passing the node twice (a core that carries both phones' sides) is one call with
    /// two pairs of legs; a request within it that gets no answer at all ends it (the far end is
    /// gone); an unanswered initial INVITE or a CANCEL does not.
    @Test func aCallThroughTheNodeTwiceIsOneCallAndNoAnswerWithinItEndsIt() {
        let table = CallTable()
        let invite = SIPStackDrainTests.message("INVITE", branch: "z9hG4bK-1")
        let other = Flow(transport: .tcp, local: Self.flow.local, remote: try! SocketAddress(ipAddress: "127.0.0.1", port: 5060), connectionID: 2)
        table.note(invite, incoming: Self.flow, outgoing: other, response: Self.ok(invite))
        table.note(invite, incoming: other, outgoing: Self.flow, response: Self.ok(invite))
        #expect(table.current.count == 1)
        #expect(table.current.first?.legs == [.init(incoming: Self.flow, outgoing: other), .init(incoming: other, outgoing: Self.flow)])
        table.note(SIPStackDrainTests.message("CANCEL", branch: "z9hG4bK-4"), incoming: nil, outgoing: Self.flow, response: nil)
        table.note(SIPStackDrainTests.message("INVITE", branch: "z9hG4bK-5"), incoming: nil, outgoing: Self.flow, response: nil)
        #expect(table.current.count == 1, "no To tag: not a request within the call")
        let info = SIPStackDrainTests.message("INFO", branch: "z9hG4bK-6", cseq: "3 INFO", toTag: "b")
        table.note(info, incoming: nil, outgoing: Self.flow, response: nil)
        #expect(table.current.isEmpty, "an INFO within the call got no answer: the far end is gone")
    }
}
