import NIOCore
import NIOPosix
import SIPCore
import SIPStack
import Testing
@testable import SIPTransport

/// Issue 17, fault 4: a request that cannot be framed on a stream is answered 400 with the
/// reason when its request line and Via can be read, then its connection is closed (RFC 3261
/// §18.3); one that is framed but invalid (a malformed Request-URI) gets the stack's 400 and the
/// connection lives on. Inputs from the bad-input corpus; `edgeway message check --stream` shows
/// the same answer.
@Suite("Stream framing answers")
struct StreamFramingAnswerTests {
    static func head(requestLine: String = "REGISTER sip:example.com SIP/2.0", contentLength: String? = nil,
                     extra: String = "") -> String {
        """
        \(requestLine)\r
        Via: SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bK-frame\r
        Max-Forwards: 70\r
        From: <sip:alice@example.com>;tag=1\r
        To: <sip:alice@example.com>\r
        Call-ID: frame-1\r
        CSeq: 1 REGISTER\r
        \(extra)\(contentLength.map { "Content-Length: \($0)\r\n" } ?? "")\r

        """
    }

    static let cases: [(String, String)] = [
        (head(), "Content-Length is required"),
        (head(contentLength: "-5"), "Content-Length"),
        (head(contentLength: "0", extra: "This line has no colon\r\n"), ""),
        (head(requestLine: "REGISTER sip:exa mple.com SIP/2.0", contentLength: "0"), ""),
    ]

    @Test(arguments: 0..<cases.count)
    func anUnframableRequestIsAnswered400ThenClosed(index: Int) async throws {
        let (input, reason) = Self.cases[index]
        let server = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        server.setHandlers(onRequest: { _ in Issue.record("a bad request reached the TU") })
        let events = EventRecorder()
        let client = SIPTransportLayer(group: MultiThreadedEventLoopGroup.singleton, onEvent: events.record)
        let address = try await server.transport.listen(.tcp, host: "127.0.0.1", port: 0)
        let flow = try await client.connect(.tcp, to: address)
        try await client.send(ByteBuffer(string: input), on: flow)
        let answer = try await events.first { event -> SIPMessage? in
            if case .sip(let message, _) = event { return message }
            return nil
        }
        #expect(answer.statusLine?.statusCode == 400, "input \(index)")
        #expect(reason.isEmpty || answer.statusLine?.reasonPhrase.contains(reason) == true, "\(answer.statusLine?.reasonPhrase ?? "")")
        #expect(try answer.topVia().branch == "z9hG4bK-frame")
        #expect(answer.callID == "frame-1")
        if index < 3 {
            // A framing error leaves the stream out of step: closed after the answer.
            _ = try await events.first { event -> Bool? in
                if case .flowClosed = event { return true }
                return nil
            }
        }
        await client.shutdown()
        await server.transport.shutdown()
    }

    @Test func garbageWithoutARequestLineGetsNoAnswer() {
        var buffer = ByteBuffer(string: "HELLO THERE\r\nVia: x\r\n\r\n")
        var decoder = SIPStreamFrameDecoder(role: .server)
        do {
            _ = try decoder.nextFrame(&buffer)
            Issue.record("framed")
        } catch {
            #expect(error.answer == nil)
        }
    }
}
