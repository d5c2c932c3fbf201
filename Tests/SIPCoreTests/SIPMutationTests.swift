import NIOCore
import Testing
import TestSupport
@testable import SIPCore

/// Bounded random mutation of the RFC 4475 and MRA corpora: parsing, validation and
/// serialization never crash, and whatever parses re-parses to itself.
@Suite("SIP parser under random mutation")
struct SIPMutationTests {
    static let mutationsPerMessage = 800

    @Test func mutatedMessagesNeverCrashTheParser() throws {
        var corpus: [[UInt8]] = [Array(MRAFixtures.register.utf8), Array(MRAFixtures.registerOK.utf8)]
        for name in TortureFixture.valid + RFC4475InvalidTests.cases.map(\.0) {
            corpus.append(Array(try TortureFixture.bytes(name).readableBytesView))
        }
        var generator = SeededGenerator(seed: 4475)
        var parsed = 0
        var rejected = 0
        for original in corpus {
            for _ in 0..<Self.mutationsPerMessage {
                let input = ByteMutator.mutate(original, using: &generator)
                let buffer = ByteBuffer(bytes: input)
                do {
                    let message = try SIPParser.parseDatagram(buffer)
                    _ = try? message.validate()
                    _ = try? message.contacts()
                    if message.contentLength == message.body.readableBytes || message.contentLength == nil {
                        #expect(try SIPParser.parseDatagram(message.serialized()) == message)
                    }
                    parsed += 1
                } catch {
                    #expect(!error.detail.isEmpty)
                    rejected += 1
                }
                var parser = SIPParser()
                var stream = buffer
                while let _ = try? parser.nextMessage(from: &stream) {}
            }
        }
        #expect(parsed + rejected == corpus.count * Self.mutationsPerMessage)
        #expect(parsed > 0 && rejected > 0)
    }
}
