import Testing
import TestSupport
@testable import STUNCore

/// Bounded random mutation of the RFC 5769 vectors: decoding never crashes, and what decodes
/// re-encodes to the same attributes.
@Suite("STUN decoder under random mutation")
struct STUNMutationTests {
    @Test func mutatedVectorsNeverCrashTheDecoder() {
        let corpus = [RFC5769Tests.request, RFC5769Tests.ipv4Response, RFC5769Tests.ipv6Response, RFC5769Tests.longTermRequest]
        var generator = SeededGenerator(seed: 5769)
        var decoded = 0
        for original in corpus {
            for _ in 0..<5_000 {
                let input = ByteMutator.mutate(original, using: &generator)
                _ = STUNMessage.verifyIntegrity(input, key: .shortTerm(password: "VOkJxbRl1RmTxUk/WvJxBt"))
                guard let message = try? STUNMessage.decode(input) else { continue }
                decoded += 1
                _ = message.mappedAddress
                _ = message.errorCode
                #expect((try? STUNMessage.decode(message.encode()))?.attributes == message.attributes)
            }
        }
        #expect(decoded > 0)
    }
}
