@testable import Diagnostics
import Foundation
import NIOCore
import SIPCore
import SIPTransport
import STUNCore
import Testing

/// The message log's entries (SPEC B26) in the network-log shape, and read back by the analyser.
@Suite struct MessageLogTests {
    static let flow = Flow(transport: .tls, local: try! SocketAddress(ipAddress: "127.0.0.1", port: 5061),
                           remote: try! SocketAddress(ipAddress: "192.0.2.7", port: 40_123), connectionID: 7)
    static let register = """
        REGISTER sip:example.com SIP/2.0\r
        Via: SIP/2.0/TLS 192.0.2.7:40123;branch=z9hG4bK-1\r
        From: <sip:alice@example.com>;tag=1\r
        To: <sip:alice@example.com>\r
        Call-ID: reg-1\r
        CSeq: 1 REGISTER\r
        Contact: <sip:alice@192.0.2.7:40123;transport=tls>;+sip.instance="<urn:uuid:1>";x-cisco-mra-ha=AR_SK\r
        Content-Length: 0\r
        \r

        """

    @Test func aReceivedMessageIsAHeaderLineThenSIPMSGThenPrefixedLines() {
        let time = Date(timeIntervalSince1970: 1_800_000_000.123)
        let entry = String(buffer: MessageLogEntry.format(ByteBuffer(string: Self.register), action: .received, flow: Self.flow, node: "edge-1",
                                                          time: time))
        let lines = entry.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0].hasPrefix("2027-01-15T08:00:00.123Z edge-1 edgeway: UTCTime=\"2027-01-15 08:00:00,123\" Module=\"network.sip\" Level=\"DEBUG\":  Action=\"Received\""))
        for field in ["Local-ip=\"127.0.0.1\"", "Local-port=\"5061\"", "Src-ip=\"192.0.2.7\"", "Src-port=\"40123\"", "Transport=\"TLS\"",
                      "Flow-id=\"tls#7\"", "Msg-Hash=\""] {
            #expect(lines[0].contains(field), "\(field) in \(lines[0])")
        }
        #expect(lines[1] == "SIPMSG:")
        #expect(lines[2] == "|REGISTER sip:example.com SIP/2.0")
        #expect(lines.dropFirst(2).dropLast().allSatisfy { $0.hasPrefix("|") })
    }

    @Test func entriesReadBackAsTrafficWithBothAddresses() throws {
        let time = Date(timeIntervalSince1970: 1_800_000_000)
        let stun = ByteBuffer(bytes: STUNMessage(type: .bindingRequest, transactionID: Array(repeating: 0xAB, count: 12)).encode())
        let text = [MessageLogEntry.format(ByteBuffer(string: Self.register), action: .received, flow: Self.flow, node: "edge-1", time: time),
                    MessageLogEntry.format(stun, action: .sent, flow: Self.flow, node: "edge-1", time: time.addingTimeInterval(1)),
                    MessageLogEntry.format(ByteBuffer(string: "\r\n\r\n"), action: .received, flow: Self.flow, node: "edge-1", time: time)]
            .map { String(buffer: $0) }.joined()
        let records = MessageLogReader.traffic(text, node: "ignored")
        try #require(records.count == 2)
        #expect(records[0].node == "edge-1" && records[0].source == "192.0.2.7:40123" && records[0].destination == "127.0.0.1:5061")
        #expect(records[0].sip?.callID == "reg-1")
        #expect(records[1].source == "127.0.0.1:5061" && records[1].destination == "192.0.2.7:40123")
        guard case .stun(let type, let id) = records[1].payload else { Issue.record("not STUN"); return }
        #expect(type == .bindingRequest && id == String(repeating: "ab", count: 12))
        #expect(abs(records[1].time.timeIntervalSince1970 - 1_800_000_001) < 0.001)
    }

    @Test func aBodyWithoutAFinalLineBreakKeepsItsLastLine() {
        var entry = ByteBuffer()
        MessageLogEntry.writePrefixed(ByteBuffer(string: "A\r\nB\r\n\r\nbody"), into: &entry)
        #expect(String(buffer: entry) == "|A\n|B\n|\n|body\n")
        entry.clear()
        MessageLogEntry.writePrefixed(ByteBuffer(string: "A\r\n\r\n"), into: &entry)
        #expect(String(buffer: entry) == "|A\n|\n")
    }

    @Test func fieldsWithQuotesAndLineBreaksSurviveTheRoundTrip() {
        let line = "x: " + LogLine.field("Event", "refused: \"503\"\nnext") + " " + LogLine.field("aor", "sip:a@b")
        let fields = LogLine.fields(of: line[...])
        #expect(fields["Event"] == "refused: \"503\"\nnext")
        #expect(fields["aor"] == "sip:a@b")
    }
}
