import Testing
@testable import SIPCore

@Suite("Known header names")
struct KnownSIPHeaderTests {
    @Test func staticTablesMatchTheNames() {
        let tables = KnownSIPHeader.computedTables()
        #expect(Array(UnsafeBufferPointer(start: KnownSIPHeader.slotTable.utf8Start, count: 256)) == tables.slots)
        #expect(Array(UnsafeBufferPointer(start: KnownSIPHeader.compactTable.utf8Start, count: 128)) == tables.compact)
    }

    /// Lookups find a field whichever way it arrived: appended, set, replaced, prepended, parsed.
    @Test func lookupsFindEveryWayAFieldArrives() throws {
        var headers = SIPHeaders()
        #expect(headers[.route] == nil && headers.count(of: .via) == 0)
        headers.append(.via, "SIP/2.0/UDP a")
        headers.set(.route, "<sip:r>")
        headers[0] = SIPHeader(name: .callID, value: "c")
        #expect(headers[.route] == "<sip:r>" && headers[.callID] == "c" && headers.count(of: .via) == 0)
        headers.prepend(.via, "SIP/2.0/UDP b")
        #expect(try headers.values(.via) == ["SIP/2.0/UDP b"])
        let parsed = try SIPParser.parse("OPTIONS sip:x SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n")
        #expect(parsed.headers.lines(.via) == ["SIP/2.0/UDP h;branch=z9hG4bK1"] && !parsed.headers.contains(.route))
    }

    @Test func everyNameAndCompactFormIsRecognizedInAnyCase() {
        for header in KnownSIPHeader.allCases {
            for spelling in [header.canonicalName, header.canonicalName.uppercased(), header.canonicalName.lowercased()] {
                #expect(KnownSIPHeader(matching: Substring(spelling)) == header)
            }
            if let letter = header.compactForm {
                let compact = String(UnicodeScalar(letter))
                #expect(KnownSIPHeader(matching: Substring(compact)) == header)
                #expect(KnownSIPHeader(matching: Substring(compact.uppercased())) == header)
            }
        }
        for other in ["X-Via", "Vias", "Contact_", "P-Asserted-Identity", "q", "C%6Fntact", "Content-Lengtx"] {
            #expect(KnownSIPHeader(matching: Substring(other)) == nil)
        }
    }
}
