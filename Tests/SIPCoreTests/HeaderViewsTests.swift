import NIOCore
import Testing
import TestSupport
@testable import SIPCore

/// What validation parsed is reused until a header changes, and stamping the top Via keeps the
/// kept views in step with the text.
@Suite("Views kept from validation")
struct HeaderViewsTests {
    private func validated() throws -> SIPMessage {
        var message = try SIPParser.parseDatagram(MRAFixtures.bytes(MRAFixtures.register))
        _ = try message.validateKeepingViews()
        return message
    }

    @Test func validationKeepsTheParsedHeaders() throws {
        let message = try validated()
        #expect(message.views != nil)
        #expect(try message.to().uri.user == "alice")
        #expect(try message.contacts().count == 1)
        #expect(try message.cseq().sequence == 101)
    }

    @Test func changingAHeaderDropsTheKeptViews() throws {
        var message = try validated()
        message.headers.set(.to, "<sip:bob@example.com>")
        #expect(message.views == nil)
        #expect(try message.to().uri.user == "bob")
    }

    @Test func aCopyChangedLaterLeavesTheOriginalAlone() throws {
        let original = try validated()
        var copy = original
        copy.headers.set(.to, "<sip:bob@example.com>")
        #expect(try original.to().uri.user == "alice")
        #expect(original.views != nil)
        #expect(try copy.to().uri.user == "bob")
    }

    @Test func stampingUpdatesTheKeptTopVia() throws {
        var message = try validated()
        let stamped = message.stampReceived(host: "198.51.100.7", port: 41_234)
        #expect(stamped?.received == "198.51.100.7")
        #expect(try message.topVia().received == "198.51.100.7")
        #expect(try message.topVia().rport == .value(41_234))
        let reparsed = try SIPParser.parseDatagram(message.serialized())
        #expect(try reparsed.topVia() == message.topVia())
    }

    @Test func aViaLineWithTwoValuesKeepsTheSecondByteForByte() throws {
        let text = MRAFixtures.register.replacingOccurrences(
            of: "Via: SIP/2.0/TLS 192.0.2.10:58980;branch=z9hG4bK3f7a1c2b9d;rport",
            with: "Via: SIP/2.0/TLS 192.0.2.10:58980;branch=z9hG4bK3f7a1c2b9d;rport, SIP/2.0/UDP  10.0.0.1;branch=z9hG4bKx")
        var message = try SIPParser.parseDatagram(MRAFixtures.bytes(text))
        _ = try message.validateKeepingViews()
        message.stampReceived(host: "198.51.100.7", port: 41_234)
        #expect(message.headers[.via]?.hasSuffix(", SIP/2.0/UDP  10.0.0.1;branch=z9hG4bKx") == true)
        #expect(try message.vias().count == 2)
        #expect(try message.topVia().rport == .value(41_234))
    }
}
