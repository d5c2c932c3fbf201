import Testing
@testable import SIPCore

@Suite("Known header names")
struct KnownSIPHeaderTests {
    @Test func staticTablesMatchTheNames() {
        let tables = KnownSIPHeader.computedTables()
        #expect(Array(UnsafeBufferPointer(start: KnownSIPHeader.slotTable.utf8Start, count: 256)) == tables.slots)
        #expect(Array(UnsafeBufferPointer(start: KnownSIPHeader.compactTable.utf8Start, count: 128)) == tables.compact)
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
