import NIOCore
import Testing
@testable import SIPCore

/// RFC 4475 §3.1.1: every valid torture message parses, validates, and has the values the RFC
/// describes.
@Suite("RFC 4475 §3.1.1 valid messages")
struct RFC4475ValidTests {
    @Test("parses, validates and round-trips", arguments: TortureFixture.valid)
    func parsesAndRoundTrips(name: String) throws {
        let bytes = try TortureFixture.bytes(name)
        let message = try SIPParser.parseDatagram(bytes)
        _ = try message.validate()
        if let declared = message.contentLength {
            #expect(declared == message.body.readableBytes, "fixture \(name): Content-Length matches the body")
        }
        let again = try SIPParser.parseDatagram(message.serialized())
        #expect(again == message)
        _ = try again.validate()
    }

    @Test("the stream parser gives the same message", arguments: TortureFixture.valid.filter { $0 != "dblreq" })
    func streamEqualsDatagram(name: String) throws {
        let bytes = try TortureFixture.bytes(name)
        var parser = SIPParser()
        var stream = bytes
        let fromStream = try #require(try parser.nextMessage(from: &stream))
        #expect(fromStream == (try SIPParser.parseDatagram(bytes)))
        #expect(stream.readableBytes == 0)
    }

    @Test func wsinv() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("wsinv"))
        #expect(message.requestLine?.method == "INVITE")
        let uri = try #require(try message.requestURI())
        #expect(uri.user == "vivekg" && uri.host == "chair-dnrc.example.com" && uri.parameters.contains("unknownparam"))
        #expect(try message.to().parameters["tag"] == "1918181833n")
        let from = try message.from()
        #expect(from.displayName == "J Rosenberg \\\"")
        #expect(from.parameters["tag"] == "98asjd8")
        #expect(message.maxForwards == 68)
        #expect(try message.cseq() == CSeq(sequence: 9, method: "INVITE"))
        let vias = try message.vias()
        #expect(vias.map(\.transport) == ["UDP", "TCP", "UDP"])
        #expect(vias.map(\.host) == ["192.0.2.2", "spindle.example.com", "192.168.255.111"])
        #expect(vias.map { $0.branch } == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"])
        #expect(message.headers["Subject"] == "")
        #expect(message.headers["NewFangledHeader"] == "newfangled value continued newfangled value")
        #expect(message.headers["UnknownHeaderWithUnusualValue"] == ";;,,;;,;")
        let contact = try #require(try message.contacts().first)
        #expect(contact.displayName == "Quoted string \"\"")
        #expect(contact.parameters["newparam"] == "newvalue")
        #expect(contact.parameters["secondparam"] == "")
        #expect(contact.parameters["q"] == "0.33")
        let route = try #require(try message.nameAddresses(.route).first)
        #expect(route.uri.parameters["unknownwith"] == "value" && route.uri.parameters.contains("unknown-no-value"))
    }

    @Test func intmeth() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("intmeth"))
        let method = "!interesting-Method0123456789_*+`.%indeed'~"
        #expect(message.requestLine?.method == method)
        let uri = try #require(try message.requestURI())
        #expect(uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        #expect(uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        #expect(uri.host == "example.com")
        #expect(try message.topVia().branch == "z9hG4bK-.!%66*_+`'~")
        #expect(try message.to().displayName == "BEL:\u{07} NUL:\u{00} DEL:\u{7F}")
        let from = try message.from()
        #expect(from.displayName == "token1~` token2'+_ token3*%!.-")
        #expect(from.parameters.unquoted("fromParam''~+*_!.-%") == "работающий")
        #expect(from.parameters["tag"] == "_token~1'+`*%!-.")
        #expect(message.callID == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
        #expect(try message.cseq() == CSeq(sequence: 139_122_385, method: method))
        #expect(message.headers["extensionHeader-!.%*+_`'~"] == "\u{FEFF}大停電")
    }

    @Test func esc01() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("esc01"))
        let uri = try #require(try message.requestURI())
        #expect(uri.decodedUser == "sips:user@example.com" && uri.host == "example.net")
        #expect(try message.to().uri.decodedUser == "user")
        #expect(try message.from().uri.decodedUser == "I have spaces")
        let contact = try #require(try message.contacts().first)
        #expect(contact.uri.decodedUser == "caller")
        #expect(contact.uri.parameters.contains("%6C%72"))
        #expect(contact.uri.parameters["n%61me"] == "v%61lue%25%34%31")
        #expect(message.headers[.contentType] == "application/sdp")
    }

    @Test func escnull() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("escnull"))
        #expect(try message.to().uri.decodedUser == "null-\u{0}-null")
        let contacts = try message.contacts()
        #expect(contacts.map { $0.uri.decodedUser } == ["\u{0}", "\u{0}\u{0}"])
        #expect(message.contentLength == 0)
    }

    @Test func esc02() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("esc02"))
        #expect(message.requestLine?.method == "RE%47IST%45R")
        #expect(try message.to().displayName == "%Z%45")
        #expect(try message.contacts().map { String($0.uri.host) } == ["host1.example.com", "host3.example.com"])
        #expect(message.headers["C%6Fntact"] == "<sip:alias2@host2.example.com>")
        #expect(try message.topVia().branch == "z9hG4bK209%fzsnel234")
    }

    @Test func lwsdisp() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("lwsdisp"))
        let from = try message.from()
        #expect(from.displayName == "caller" && from.uri.user == "caller")
    }

    @Test func longreq() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("longreq"))
        let vias = try message.vias()
        #expect(vias.count == 34)
        #expect(vias.last?.received == "192.0.2.5")
        let to = try message.to()
        #expect(to.uri.port == 6000 && to.uri.parameters.count == 3)
        let tag = try #require(try message.from().parameters["tag"])
        #expect(tag.hasPrefix("129829829") && tag.hasSuffix("982424") && tag.count > 150)
        #expect(message.body.readableBytes == 150)
    }

    @Test func dblreq() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("dblreq"))
        #expect(message.requestLine?.method == "REGISTER")
        #expect(message.body.readableBytes == 0)
        #expect(!message.text.contains("INVITE"))
    }

    @Test func semiuri() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("semiuri"))
        let uri = try #require(try message.requestURI())
        #expect(uri.decodedUser == "user;par=u@example.net" && uri.host == "example.com" && uri.parameters.isEmpty)
        #expect(message.headers["Accept"] == "application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, message/sip, message/sipfrag")
    }

    @Test func transports() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("transports"))
        #expect(try message.vias().map(\.transport) == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"])
    }

    @Test func mpart01() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("mpart01"))
        #expect(message.body.readableBytes == 553)
        #expect(message.body.readableBytesView.contains(0x00))
        let via = try message.topVia()
        #expect(via.port == 5070 && via.rport == .requested)
    }

    @Test func unreason() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("unreason"))
        #expect(message.statusLine?.statusCode == 200)
        #expect(message.statusLine?.reasonPhrase == "= 2**3 * 5**2 но сто девяносто девять - простое")
    }

    @Test func noreason() throws {
        let message = try SIPParser.parseDatagram(TortureFixture.bytes("noreason"))
        #expect(message.statusLine?.statusCode == 100)
        #expect(message.statusLine?.reasonPhrase == "")
        #expect(message.parseWarnings.isEmpty)
    }
}
