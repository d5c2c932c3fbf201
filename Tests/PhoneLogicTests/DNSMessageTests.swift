import PhoneLogic
import Testing

/// The DNS bytes the phone sends and reads (RFC 1035), compression pointers included.
@Suite("DNS messages")
struct DNSMessageTests {
    @Test func anSRVQueryIsWrittenAsRFC1035Says() {
        let query = DNSMessage.query(id: 0x1234, name: "_collab-edge._tls.example.com", type: .srv)
        #expect(Array(query.prefix(12)) == [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])
        #expect(query[12] == 12 && String(decoding: query[13..<25], as: UTF8.self) == "_collab-edge")
        #expect(Array(query.suffix(4)) == [0, 33, 0, 1])
    }

    @Test func answersWithCompressedNamesAreRead() throws {
        // A response to the query above: one SRV answer whose owner is a pointer to the question
        // and whose target "edge1" continues with a pointer to "example.com" in the question.
        var response = DNSMessage.query(id: 7, name: "_collab-edge._tls.example.com", type: .srv)
        response[2] = 0x81; response[3] = 0x80; response[7] = 2
        let exampleOffset = 12 + 1 + 12 + 1 + 4
        response += [0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 60]
        let target: [UInt8] = [5] + Array("edge1".utf8) + [0xC0, UInt8(exampleOffset)]
        response += [0, UInt8(6 + target.count), 0, 10, 0, 60, 0x13, 0xC5] + target
        response += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]
        let answers = try DNSMessage.answers(response, id: 7)
        #expect(answers == [.srv(SRVRecord(priority: 10, weight: 60, port: 5061, target: "edge1.example.com")), .a("127.0.0.1")])
    }

    @Test func aCutOrForeignResponseIsRefusedWithAReason() {
        #expect(throws: DNSMessage.FormatError.self) { try DNSMessage.answers([1, 2, 3], id: 1) }
        let query = DNSMessage.query(id: 9, name: "x.example", type: .a)
        #expect(throws: DNSMessage.FormatError.self) { try DNSMessage.answers(query, id: 10) }
        var looping = DNSMessage.query(id: 3, name: "a", type: .a)
        looping[7] = 1
        looping += [0xC0, UInt8(looping.count)]
        #expect(throws: DNSMessage.FormatError.self) { try DNSMessage.answers(looping, id: 3) }
    }
}
