import NIOCore
import Testing
import TestSupport
@testable import SIPCore

@Suite("SIP parser")
struct SIPParserTests {
    @Test func dripFedStreamGivesTheSameMessages() throws {
        let wire = MRAFixtures.register + "\r\n\r\n" + MRAFixtures.registerOK
        var parser = SIPParser()
        var buffer = ByteBuffer()
        var messages: [SIPMessage] = []
        for byte in wire.utf8 {
            buffer.writeInteger(byte)
            while let message = try parser.nextMessage(from: &buffer) { messages.append(message) }
        }
        #expect(messages == [try SIPParser.parse(MRAFixtures.register), try SIPParser.parse(MRAFixtures.registerOK)])
    }

    @Test func bareLineFeedsAreAccepted() throws {
        let message = try SIPParser.parse(MRAFixtures.register.replacingOccurrences(of: "\r\n", with: "\n"))
        #expect(try message.cseq().sequence == 101)
    }

    @Test func oversizedBodyIsRefusedBeforeItArrives() {
        var parser = SIPParser()
        var buffer = ByteBuffer(string: MRAFixtures.register.replacingOccurrences(of: "Content-Length: 0", with: "Content-Length: 70000"))
        #expect {
            try parser.nextMessage(from: &buffer)
        } throws: { error in
            (error as? SIPParseError)?.status == 513
        }
    }

    @Test func endlessHeaderSectionIsRefusedAtTheLimit() {
        var parser = SIPParser(limits: .init(maxMessageSize: 4_096))
        var buffer = ByteBuffer(string: "REGISTER sip:example.com SIP/2.0\r\n")
        var refused = false
        for index in 0..<200 where !refused {
            buffer.writeString("X-Filler-\(index): some value to fill the header section\r\n")
            do { _ = try parser.nextMessage(from: &buffer) } catch { refused = error.code == .tooLarge }
        }
        #expect(refused)
    }

    @Test func tooManyHeadersAndLongLinesAreRefused() {
        let many = "OPTIONS sip:a@b SIP/2.0\r\n" + String(repeating: "X-A: 1\r\n", count: 300) + "\r\n"
        #expect(throws: SIPParseError.self) { try SIPParser.parse(many) }
        let long = "OPTIONS sip:a@b SIP/2.0\r\nX-A: " + String(repeating: "a", count: 9_000) + "\r\n\r\n"
        #expect(throws: SIPParseError.self) { try SIPParser.parse(long) }
        var parser = SIPParser()
        var noLineEnd = ByteBuffer(string: String(repeating: "A", count: 9_000))
        #expect(throws: SIPParseError.self) { try parser.nextMessage(from: &noLineEnd) }
    }

    @Test func missingContentLengthOnStreamIsAnError() {
        var parser = SIPParser()
        var buffer = ByteBuffer(string: "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n")
        #expect(throws: SIPParseError.self) { try parser.nextMessage(from: &buffer) }
    }

    /// Found by the fuzzer: Content-Length must be read after folding, or the framing and the
    /// message disagree.
    @Test func foldedContentLengthIsReadWhole() throws {
        let head = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nl: 0\r\n"
        #expect(throws: SIPParseError.self) { try SIPParser.parse(head + " SIP/2.0\r\n\r\n") }
        #expect(try SIPParser.parse(head + " \r\n\r\n").contentLength == 0)
    }

    @Test func headerLookupsUseCompactAndLongForms() throws {
        let message = try SIPParser.parse("OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nVIA: SIP/2.0/UDP g\r\nf: <sip:a@b>;tag=1\r\nt: <sip:a@b>\r\ni: x\r\nCSEQ: 1 OPTIONS\r\nl: 0\r\n\r\n")
        #expect(try message.vias().count == 2)
        #expect(message.headers.lines(.via).count == 2)
        #expect(message.callID == "x")
        #expect(try message.validate() == ["no Max-Forwards header"])
    }

    @Test(arguments: [
        "sips:alice@[2001:db8::1]:5061;transport=tls",
        "sip:alice:secret@example.com;lr?Subject=hi",
        "tel:+1-201-555-0123;phone-context=example.com",
        "sip:example.com",
    ])
    func uriRoundTrips(text: String) throws {
        #expect(try SIPURI(parsing: text).description == text)
    }

    @Test func ipv6URIParts() throws {
        let uri = try SIPURI(parsing: "sips:alice@[2001:db8::1]:5061;transport=tls")
        #expect(uri.host == "[2001:db8::1]" && uri.hostWithoutBrackets == "2001:db8::1" && uri.port == 5061)
        #expect(uri.parameters["transport"] == "tls")
    }
}
