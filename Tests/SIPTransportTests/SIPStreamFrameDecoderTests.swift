import NIOCore
import NIOEmbedded
import NIOTestUtils
import SIPCore
import STUNCore
import Testing
import TestSupport
@testable import SIPTransport

/// SPEC B10: one decoder tells SIP, STUN, pings and pongs apart on a stream.
@Suite("Stream frame decoder")
struct SIPStreamFrameDecoderTests {
    let register = try! SIPParser.parse(MRAFixtures.register)
    let ok = try! SIPParser.parse(MRAFixtures.registerOK)
    let stun = ByteBuffer(bytes: STUNMessage(type: .bindingRequest, transactionID: Array(1...12)).encode())
    let stunWithAttributes = ByteBuffer(bytes: STUNMessage(
        type: .bindingSuccess, transactionID: Array(1...12),
        attributes: [.software("edgeway"), .xorMappedAddress(STUNAddress(address: [198, 51, 100, 7], port: 41234),
                                                             transactionID: Array(1...12))]).encode())

    private func wire(_ parts: [ByteBuffer]) -> ByteBuffer {
        var all = ByteBuffer()
        for var part in parts { all.writeBuffer(&part) }
        return all
    }

    @Test func serverSideInterleavedFramesPassTheVerifier() throws {
        let crlf2 = ByteBuffer(string: "\r\n\r\n")
        let crlf = ByteBuffer(string: "\r\n")
        let input = wire([register.serialized(), stun, crlf2, ok.serialized(), crlf, stunWithAttributes, crlf2, crlf,
                          register.serialized()])
        let expected: [SIPStreamFrame] = [.sip(register), .stun(stun), .ping, .sip(ok), .pong, .stun(stunWithAttributes),
                                          .ping, .pong, .sip(register)]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: [(input, expected)]) {
            SIPStreamFrameDecoder(role: .server)
        }
    }

    @Test func clientSideEveryCRLFIsAPong() throws {
        let input = wire([ok.serialized(), ByteBuffer(string: "\r\n\r\n"), stun, ByteBuffer(string: "\r\n"), ok.serialized()])
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: [(input, [.sip(ok), .pong, .pong, .stun(stun), .pong, .sip(ok)])]) {
            SIPStreamFrameDecoder(role: .client)
        }
    }

    @Test func aLonePongAtTheEndIsReportedWhenTheStreamCloses() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SIPStreamFrameDecoder(role: .server)))
        try channel.writeInbound(ByteBuffer(string: "\r\n"))
        #expect(try channel.readInbound(as: SIPStreamFrame.self) == nil)
        _ = try channel.finish()
        #expect(try channel.readInbound(as: SIPStreamFrame.self) == .pong)
    }

    @Test(arguments: [
        [UInt8]([0xFF, 0xFE, 0x00, 0x01]),
        Array("\u{16}\u{03}\u{01}".utf8),
        [0x00, 0x01, 0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF] + [UInt8](repeating: 0, count: 12),
        Array("<html>hello</html>\r\n\r\n".utf8),
    ])
    func garbageIsAFramingError(bytes: [UInt8]) throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SIPStreamFrameDecoder(role: .server)))
        #expect(throws: SIPStreamFramingError.self) { try channel.writeInbound(ByteBuffer(bytes: bytes)) }
        _ = try? channel.finish()
    }

    @Test func anOversizedMessageIsRefusedBeforeItsBodyIsBuffered() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SIPStreamFrameDecoder(role: .server)))
        let head = MRAFixtures.register.replacingOccurrences(of: "Content-Length: 0", with: "Content-Length: 1000000")
        #expect {
            try channel.writeInbound(ByteBuffer(string: head))
        } throws: { error in
            (error as? SIPStreamFramingError)?.sipError?.status == 513
        }
        _ = try? channel.finish()
    }

    @Test func framesBeforeAnErrorAreDelivered() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SIPStreamFrameDecoder(role: .server)))
        var input = register.serialized()
        input.writeBytes([0xFF, 0xFF])
        #expect(throws: SIPStreamFramingError.self) { try channel.writeInbound(input) }
        #expect(try channel.readInbound(as: SIPStreamFrame.self) == .sip(register))
        _ = try? channel.finish()
    }
}

@Suite("Datagram classifier")
struct SIPDatagramKindTests {
    @Test func classifies() {
        let stun = ByteBuffer(bytes: STUNMessage(type: .bindingRequest, transactionID: Array(1...12)).encode())
        #expect(SIPDatagramKind(classifying: stun) == .stun)
        #expect(SIPDatagramKind(classifying: ByteBuffer(string: MRAFixtures.register)) == .sip)
        #expect(SIPDatagramKind(classifying: ByteBuffer(string: "\r\n\r\n")) == .keepalive)
        #expect(SIPDatagramKind(classifying: ByteBuffer(bytes: [0x00, 0x01, 0x02])) == .garbage)
        #expect(SIPDatagramKind(classifying: ByteBuffer(bytes: [0xFF, 0x01])) == .garbage)
    }
}
