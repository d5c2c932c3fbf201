import NIOCore
import Testing
@testable import SIPCore

/// RFC 4475 §3.1.2: every invalid message is refused with the answer the RFC expects, or parsed
/// and flagged where the RFC lets a liberal element accept it.
@Suite("RFC 4475 §3.1.2 invalid messages")
struct RFC4475InvalidTests {
    enum Expectation: Sendable, CustomStringConvertible {
        /// Refused; a server answers this status.
        case reject(Int, SIPParseError.Code)
        /// A response that is dropped.
        case drop
        /// Accepted with a warning that contains this text.
        case flagged(String)

        var description: String {
            switch self {
            case .reject(let status, let code): "reject \(status) \(code)"
            case .drop: "drop"
            case .flagged(let text): "flagged \(text)"
            }
        }
    }

    static let cases: [(String, Expectation)] = [
        ("badinv01", .reject(400, .badHeaderValue)),
        ("clerr", .reject(400, .badContentLength)),
        ("ncl", .reject(400, .badContentLength)),
        ("scalar02", .reject(400, .badHeaderValue)),
        ("scalarlg", .drop),
        ("quotbal", .reject(400, .badHeaderValue)),
        ("ltgtruri", .reject(400, .badRequestURI)),
        ("lwsruri", .reject(400, .badRequestURI)),
        ("lwsstart", .flagged("more than one space")),
        ("trws", .flagged("whitespace around the request line")),
        ("escruri", .reject(400, .badRequestURI)),
        ("baddate", .flagged("Date is not in GMT")),
        ("regbadct", .reject(400, .badHeaderValue)),
        ("badaspec", .flagged("whitespace inside <> in To")),
        ("baddn", .reject(400, .badHeaderValue)),
        ("badvers", .reject(505, .unsupportedVersion)),
        ("mismatch01", .reject(400, .methodMismatch)),
        ("mismatch02", .reject(501, .methodMismatch)),
        ("bigcode", .drop),
    ]

    @Test("answer as the RFC says", arguments: cases)
    func answer(name: String, expected: Expectation) throws {
        let bytes = try TortureFixture.bytes(name)
        let outcome = Result { () throws(SIPParseError) -> [String] in
            try SIPParser.parseDatagram(bytes).validate()
        }
        switch (expected, outcome) {
        case (.reject(let status, let code), .failure(let error)):
            #expect(error.status == status && error.code == code, "\(name): \(error)")
            #expect(!error.detail.isEmpty)
        case (.drop, .failure(let error)):
            #expect(error.status == nil, "\(name): \(error)")
        case (.flagged(let text), .success(let warnings)):
            #expect(warnings.contains { $0.contains(text) }, "\(name): \(warnings)")
        case (_, .success(let warnings)):
            Issue.record("\(name) was accepted (warnings \(warnings)), expected \(expected)")
        case (_, .failure(let error)):
            Issue.record("\(name) failed with \(error), expected \(expected)")
        }
    }

    @Test("a bad Content-Length on a stream is a framing error", arguments: ["ncl"])
    func streamFraming(name: String) throws {
        var parser = SIPParser()
        var stream = try TortureFixture.bytes(name)
        #expect(throws: SIPParseError.self) { try parser.nextMessage(from: &stream) }
    }

    @Test("clerr on a stream waits for the rest of the body")
    func clerrOnStream() throws {
        var parser = SIPParser()
        var stream = try TortureFixture.bytes("clerr")
        #expect(try parser.nextMessage(from: &stream) == nil)
    }
}
