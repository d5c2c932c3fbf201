import SIPCore
import Testing

/// The typed views keep their parsed text and offsets; these check that reading, editing,
/// writing out and comparing them behave as if every part were stored on its own.
@Suite("Typed views: parts, edits and equality")
struct TypedViewEditingTests {
    @Test func aURIsPartsAreReadFromItsText() throws {
        let uri = try SIPURI(parsing: "sips:bob:secret@[2001:db8::1]:5061;transport=tls;lr?subject=hi")
        #expect(uri.scheme == "sips")
        #expect(uri.user == "bob")
        #expect(uri.password == "secret")
        #expect(uri.host == "[2001:db8::1]")
        #expect(uri.hostWithoutBrackets == "2001:db8::1")
        #expect(uri.port == 5061)
        #expect(uri.parameters["transport"] == "tls")
        #expect(uri.parameters.contains("lr"))
        #expect(uri.headers == "subject=hi")
        #expect(uri.isSIP)
        #expect(uri.description == "sips:bob:secret@[2001:db8::1]:5061;transport=tls;lr?subject=hi")
    }

    @Test func aPortWithLeadingZerosIsWrittenCanonically() throws {
        #expect(try SIPURI(parsing: "sip:alice@example.com:05060;lr").description == "sip:alice@example.com:5060;lr")
        #expect(try SIPURI(parsing: "sip:alice@example.com:0").description == "sip:alice@example.com:0")
    }

    @Test func editingOnePartOfAURIKeepsTheOthers() throws {
        var uri = try SIPURI(parsing: "sip:alice@example.com:5060;transport=tcp;ob")
        uri.host = "192.0.2.1"
        uri.parameters.set("transport", "tls")
        uri.port = nil
        #expect(uri.description == "sip:alice@192.0.2.1;transport=tls;ob")
        uri.user = nil
        #expect(uri.description == "sip:192.0.2.1;transport=tls;ob")
        #expect(uri.parameters["ob"] == "")
    }

    @Test func parsedAndBuiltURIsWithTheSamePartsAreEqual() throws {
        let parsed = try SIPURI(parsing: "sip:alice@example.com:5060")
        let built = SIPURI(user: "alice", host: "example.com", port: 5060)
        #expect(parsed == built)
        #expect(parsed.hashValue == built.hashValue)
        #expect(parsed != SIPURI(user: "alice", host: "example.com", port: 5061))
    }

    @Test func aNameAddrsURIParametersAndHeaderParametersStaySeparate() throws {
        let address = try NameAddress(parsing: "\"Alice A\" < sip:alice@example.com;transport=tls;lr >;expires=60;+sip.instance=\"<urn:uuid:1>\"")
        #expect(address.displayName == "Alice A")
        #expect(address.hasSpacesInsideBrackets)
        #expect(address.uri.parameters["transport"] == "tls")
        #expect(address.uri.parameters["expires"] == nil)
        #expect(address.parameters["expires"] == "60")
        #expect(address.parameters.unquoted("+sip.instance") == "<urn:uuid:1>")
        #expect(address.description == "\"Alice A\" < sip:alice@example.com;transport=tls;lr >;expires=60;+sip.instance=\"<urn:uuid:1>\"")
    }

    @Test func editingANameAddrRewritesOnlyWhatChanged() throws {
        var address = try NameAddress(parsing: "Bob <sip:bob@example.com>;tag=abc")
        address.parameters.set("expires", "30")
        #expect(address.description == "Bob <sip:bob@example.com>;tag=abc;expires=30")
        address.uri.host = "edge.example.com"
        #expect(address.description == "Bob <sip:bob@edge.example.com>;tag=abc;expires=30")
        address.leadingText = "\"Robert\" "
        #expect(address.description == "\"Robert\" <sip:bob@edge.example.com>;tag=abc;expires=30")
        #expect(address.uri.host == "edge.example.com")

        var bare = try NameAddress(parsing: "sip:carol@example.com;tag=9")
        #expect(!bare.hasAngleBrackets)
        #expect(bare.parameters["tag"] == "9")
        bare.uri.port = 5070
        #expect(bare.description == "<sip:carol@example.com:5070>;tag=9")
    }

    @Test func parsedAndBuiltNameAddrsCompareByTheirParts() throws {
        let parsed = try NameAddress(parsing: "\"Dan\" <sip:dan@example.com>")
        let built = NameAddress(displayName: "Dan", uri: SIPURI(user: "dan", host: "example.com"))
        #expect(parsed == built)
        #expect(parsed.hashValue == built.hashValue)
        #expect(built.description == "\"Dan\" <sip:dan@example.com>")
    }

    @Test func aViaIsReadEditedAndWrittenCanonically() throws {
        var via = try Via(parsing: "SIP / 2.0 / TCP  host.example.com : 05060 ;branch=z9hG4bK1;rport")
        #expect(via.protocolName == "SIP")
        #expect(via.transport == "TCP")
        #expect(via.host == "host.example.com")
        #expect(via.port == 5060)
        #expect(via.rport == .requested)
        #expect(via.description == "SIP/2.0/TCP host.example.com:5060;branch=z9hG4bK1;rport")
        via.parameters.set("rport", "4000")
        via.port = nil
        via.transport = "TLS"
        #expect(via.description == "SIP/2.0/TLS host.example.com;branch=z9hG4bK1;rport=4000")
        #expect(via == Via(transport: "TLS", host: "host.example.com", port: nil, branch: "z9hG4bK1",
                           parameters: try Via(parsing: "SIP/2.0/TLS h;branch=x;rport=4000").parameters))
    }

    @Test func aCompactViaIsWrittenAsItCame() throws {
        let text = "SIP/2.0/UDP [2001:db8::2]:5062;branch=z9hG4bKabc;received=192.0.2.9"
        #expect(try Via(parsing: text).description == text)
    }

    @Test func parametersAreWrittenAsParsedOrNormalisedWhereTheyWereSpacedOrEdited() throws {
        var address = try NameAddress(parsing: "<sip:a@example.com>;a=1;b;c=\"x y\";d=4")
        #expect(address.description == "<sip:a@example.com>;a=1;b;c=\"x y\";d=4")
        address.parameters.set("b", "2")
        address.parameters.set("e", nil)
        #expect(address.description == "<sip:a@example.com>;a=1;b=2;c=\"x y\";d=4;e")
        address.parameters.remove("a")
        #expect(address.description == "<sip:a@example.com>;b=2;c=\"x y\";d=4;e")
        let spaced = try NameAddress(parsing: "<sip:a@example.com> ; a = 1 ;b")
        #expect(spaced.description == "<sip:a@example.com>;a=1;b")
    }

    @Test func fieldsCopiedFromAnotherListKeepTheirValuesWhetherOrNotTheTextIsShared() throws {
        var request = try SIPParser.parse("""
            REGISTER sip:example.com SIP/2.0\r
            Via: SIP/2.0/TCP a.example.com;branch=z9hG4bK1\r
            v: SIP/2.0/TCP b.example.com;branch=z9hG4bK2\r
            From: <sip:alice@example.com>;tag=1\r
            To: <sip:alice@example.com>\r
            Call-ID: c1\r
            CSeq: 1 REGISTER\r
            Content-Length: 0\r
            \r

            """)
        request.headers.set(.callID, "edited")
        var shared = SIPHeaders(sharingTextOf: request.headers)
        var separate = SIPHeaders()
        for name: SIPHeaderName in [.via, .callID] {
            shared.appendFields(name, from: request.headers)
            separate.appendFields(name, from: request.headers)
        }
        shared.appendFields(.via, from: request.headers, limit: 1)
        #expect(shared.lines(.via) == ["SIP/2.0/TCP a.example.com;branch=z9hG4bK1", "SIP/2.0/TCP b.example.com;branch=z9hG4bK2",
                                       "SIP/2.0/TCP a.example.com;branch=z9hG4bK1"])
        #expect(separate.lines(.via) == Array(shared.lines(.via).prefix(2)))
        #expect(shared[.callID] == "edited" && separate[.callID] == "edited")
    }
}
