import Foundation
import NIOCore
import Testing

/// Loads the RFC 4475 messages kept under `Torture/`, written with the RFC's own conventions:
/// `<allOneLine>…</allOneLine>` joins lines, `<hex>…</hex>` stands for raw bytes, and every line
/// ends with CRLF on the wire.
enum TortureFixture {
    static func bytes(_ name: String) throws -> ByteBuffer {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Torture"))
        var text = try String(contentsOf: url, encoding: .utf8)
        while let open = text.range(of: "<allOneLine>\n"), let close = text.range(of: "</allOneLine>\n") {
            let inner = text[open.upperBound..<close.lowerBound].replacingOccurrences(of: "\n", with: "")
            text.replaceSubrange(open.lowerBound..<close.upperBound, with: inner + "\n")
        }
        text = text.replacingOccurrences(of: "\n", with: "\r\n")
        var buffer = ByteBuffer()
        var rest = Substring(text)
        while let open = rest.range(of: "<hex>"), let close = rest.range(of: "</hex>") {
            buffer.writeString(String(rest[..<open.lowerBound]))
            let hex = Array(rest[open.upperBound..<close.lowerBound].utf8)
            buffer.writeBytes(stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16)! })
            rest = rest[close.upperBound...]
        }
        buffer.writeString(String(rest))
        return buffer
    }

    /// The valid messages of RFC 4475 §3.1.1.
    static let valid = ["wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq", "semiuri",
                        "transports", "mpart01", "unreason", "noreason"]
}

