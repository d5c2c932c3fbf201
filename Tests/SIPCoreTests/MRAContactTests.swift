import NIOCore
import Testing
import TestSupport
@testable import SIPCore

/// SPEC B3: the MRA Contact survives parse → edit one parameter → serialize with everything else
/// unchanged.
@Suite("MRA messages")
struct MRAContactTests {
    @Test func editingOneParameterChangesNothingElse() throws {
        var contact = try NameAddress(parsing: MRAFixtures.contact)
        #expect(contact.description == MRAFixtures.contact)
        #expect(contact.parameters["+sip.instance"] == "\"<urn:uuid:00000000-0000-0000-0000-0050569a1b2c>\"")
        #expect(contact.parameters.unquoted("+u.sip!devicename.ccm.cisco.com") == "CSFALICE")
        #expect(contact.parameters["video"] == "")
        #expect(contact.parameters["x-cisco-mra-ha"] == "AR_SK")
        contact.parameters.set("x-cisco-reg-id", "2")
        #expect(contact.description == MRAFixtures.contact.replacingOccurrences(of: "x-cisco-reg-id=1", with: "x-cisco-reg-id=2"))
        contact.parameters.set("x-cisco-newreg", nil)
        #expect(contact.description.hasSuffix(";x-cisco-reg-id=2;x-cisco-newreg"))
    }

    @Test func registerAndOKRoundTrip() throws {
        for text in [MRAFixtures.register, MRAFixtures.registerOK] {
            let message = try SIPParser.parse(text)
            #expect(try message.validate().isEmpty)
            #expect(message.text == text)
            #expect(try SIPParser.parseDatagram(message.serialized()) == message)
        }
        let ok = try SIPParser.parse(MRAFixtures.registerOK)
        #expect(ok.hasOptionTag("x-cisco-supports-ar_sk", in: .supported))
        let via = try ok.topVia()
        #expect(via.received == "198.51.100.7" && via.rport == .value(41234) && via.parameters["ingress-zone"] == "CollaborationEdgeZone")
    }

    @Test func editedHeaderKeepsOrderAndOtherFields() throws {
        var message = try SIPParser.parse(MRAFixtures.register)
        var contact = try #require(try message.contacts().first)
        contact.parameters.set("x-cisco-reg-id", "7")
        message.headers.set(.contact, contact.description)
        message.headers.prepend(.via, "SIP/2.0/TLS edge.example.com:5061;branch=z9hG4bKedge1")
        let lines = message.text.components(separatedBy: "\r\n")
        #expect(lines[1] == "Via: SIP/2.0/TLS edge.example.com:5061;branch=z9hG4bKedge1")
        #expect(lines[2].hasPrefix("Via: SIP/2.0/TLS 192.0.2.10:58980"))
        #expect(message.text.replacingOccurrences(of: "x-cisco-reg-id=7", with: "x-cisco-reg-id=1")
            .replacingOccurrences(of: "Via: SIP/2.0/TLS edge.example.com:5061;branch=z9hG4bKedge1\r\n", with: "") == MRAFixtures.register)
    }
}

@Suite("received and rport")
struct ReceivedStampTests {
    @Test func rportIsFilledAndReceivedAddedWhenTheSourceDiffers() throws {
        let stamped = try SIPParser.parse(MRAFixtures.register).stampingReceived(host: "198.51.100.7", port: 41234)
        let via = try stamped.topVia()
        #expect(via.received == "198.51.100.7" && via.rport == .value(41234) && via.branch == "z9hG4bK3f7a1c2b9d")
        #expect(try SIPParser.parseDatagram(stamped.serialized()) == stamped)
    }

    @Test func withoutRportAndFromTheSentByNothingChangesUnlessAlways() throws {
        let text = MRAFixtures.register.replacingOccurrences(of: ";rport", with: "")
        let plain = try SIPParser.parse(text).stampingReceived(host: "192.0.2.10", port: 58980)
        #expect(try plain.topVia().received == nil && (try plain.topVia().rport) == .absent)
        let edge = try SIPParser.parse(text).stampingReceived(host: "192.0.2.10", port: 58980, always: true)
        #expect(try edge.topVia().received == "192.0.2.10" && (try edge.topVia().rport) == .value(58980))
    }

    @Test func onlyTheTopViaOfACommaListChanges() throws {
        let text = MRAFixtures.register.replacingOccurrences(
            of: "Via: SIP/2.0/TLS 192.0.2.10:58980;branch=z9hG4bK3f7a1c2b9d;rport",
            with: "Via: SIP/2.0/TLS 192.0.2.10:58980;branch=z9hG4bK3f7a1c2b9d;rport, SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKold")
        let vias = try SIPParser.parse(text).stampingReceived(host: "198.51.100.7", port: 1).vias()
        #expect(vias.count == 2 && vias[0].received == "198.51.100.7" && vias[1].received == nil)
    }
}

@Suite("Removing a proxy's Via")
struct RemoveFirstValueTests {
    @Test func theFirstValueOfACommaListOrTheWholeLineGoes() throws {
        var headers: SIPHeaders = [.via: "SIP/2.0/TCP proxy;branch=z9hG4bKp, SIP/2.0/TLS phone;branch=z9hG4bKa"]
        headers.append(.via, "SIP/2.0/UDP far;branch=z9hG4bKf")
        try headers.removeFirstValue(.via)
        #expect(headers.lines(.via) == ["SIP/2.0/TLS phone;branch=z9hG4bKa", "SIP/2.0/UDP far;branch=z9hG4bKf"])
        try headers.removeFirstValue(.via)
        #expect(headers.lines(.via) == ["SIP/2.0/UDP far;branch=z9hG4bKf"])
    }
}
