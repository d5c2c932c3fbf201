import SIPCore
import Testing

/// Scanners skip quoted strings (RFC 3261 §25.1): a quoted `<`, `>`, `,` or `;` inside a
/// parameter value is text, not a delimiter. Inputs from public bug reports of other stacks.
@Suite("Quoted text in parameters")
struct QuotedParameterTests {
    @Test func aQuotedAngleBracketInAnAddrSpecParameterIsAParameterValue() throws {
        let contact = try NameAddress(parsing: #"sip:alice@192.0.2.10:5062;+sip.instance="<urn:uuid:00000000-0000-1000-8000-00000000a0a0>";reg-id=1;expires=600"#)
        #expect(contact.uri.host == "192.0.2.10")
        #expect(contact.uri.port == 5062)
        #expect(contact.parameters["+sip.instance"] == #""<urn:uuid:00000000-0000-1000-8000-00000000a0a0>""#)
        #expect(contact.parameters["reg-id"] == "1")
        #expect(contact.parameters["expires"] == "600")
    }

    @Test func aQuotedAngleBracketInFromParametersKeepsTheTag() throws {
        let from = try NameAddress(parsing: #"sip:bob@example.com;x="<y>";tag=1"#, header: .from)
        #expect(from.uri.user == "bob")
        #expect(from.parameters["x"] == #""<y>""#)
        #expect(from.parameters["tag"] == "1")
    }

    @Test func aNameAddrIsStillFoundWhenItsParametersQuoteBrackets() throws {
        let contact = try NameAddress(parsing: #"Alice <sip:alice@192.0.2.10>;+sip.instance="<urn:uuid:1>""#)
        #expect(contact.uri.user == "alice")
        #expect(contact.parameters["+sip.instance"] == #""<urn:uuid:1>""#)
        #expect(throws: SIPParseError.self) { try NameAddress(parsing: "Al@ice <sip:alice@192.0.2.10>") }
    }

    @Test func aListIsNotSplitAtACommaInsideQuotes() throws {
        let message = try SIPParser.parse("""
            REGISTER sip:example.com SIP/2.0\r
            Via: SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bK-q1\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=1\r
            To: <sip:alice@example.com>\r
            Call-ID: q1\r
            CSeq: 1 REGISTER\r
            Contact: sip:alice@192.0.2.10:5062;x="a,<b>;c", <sip:alice@192.0.2.11:5062>\r
            Content-Length: 0\r
            \r

            """)
        let contacts = try message.contacts()
        #expect(contacts.count == 2)
        #expect(contacts.first?.parameters["x"] == #""a,<b>;c""#)
        #expect(contacts.last?.uri.host == "192.0.2.11")
    }

    @Test func aViaParameterMayQuoteDelimiters() throws {
        let message = try SIPParser.parse("""
            OPTIONS sip:example.com SIP/2.0\r
            Via: SIP/2.0/TCP 192.0.2.10:5062;x="a;b,<c>";branch=z9hG4bK-q2, SIP/2.0/UDP 192.0.2.20;branch=z9hG4bK-q3\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=1\r
            To: <sip:example.com>\r
            Call-ID: q2\r
            CSeq: 1 OPTIONS\r
            Content-Length: 0\r
            \r

            """)
        let via = try message.topVia()
        #expect(via.branch == "z9hG4bK-q2")
        #expect(via.parameters["x"] == #""a;b,<c>""#)
        #expect(try message.vias().count == 2)
    }

    @Test func digestParametersMayQuoteCommas() throws {
        let parts = try SIPHeaders.splitAuthParameters(#"username="a,b", realm="example.com", nonce="n,1""#)
        #expect(parts.count == 3)
        #expect(parts.first == #"username="a,b""#)
    }
}
