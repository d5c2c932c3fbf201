import SIPCore

/// The fields of a `Digest` Authorization header.
struct DigestCredentials {
    var username: Substring
    var realm: Substring
    var nonce: Substring
    var uri: Substring
    var response: Substring
    var algorithm: Substring?
    var qop: Substring?
    var nc: Substring?
    var cnonce: Substring?

    /// Reads `Digest name=value, name="value", …` in one pass over the bytes, slicing only the
    /// values it keeps; `nil` when it is not a Digest header or a required field is missing.
    init?(_ header: Substring) {
        var header = header
        guard let spans = header.withUTF8({ Spans($0) }),
              let username = spans.username, let realm = spans.realm, let nonce = spans.nonce, let uri = spans.uri,
              let response = spans.response
        else { return nil }
        func slice(_ range: Range<Int>) -> Substring {
            let utf8 = header.utf8
            return Substring(utf8[utf8.index(utf8.startIndex, offsetBy: range.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: range.upperBound)])
        }
        self.username = slice(username)
        self.realm = slice(realm)
        self.nonce = slice(nonce)
        self.uri = slice(uri)
        self.response = slice(response)
        algorithm = spans.algorithm.map(slice)
        qop = spans.qop.map(slice)
        nc = spans.nc.map(slice)
        cnonce = spans.cnonce.map(slice)
    }

    /// Where each field's value is (without its quotes).
    private struct Spans {
        var username, realm, nonce, uri, response, algorithm, qop, nc, cnonce: Range<Int>?

        init?(_ bytes: UnsafeBufferPointer<UInt8>) {
            let count = bytes.count
            var index = 0
            while index < count, Self.isBlank(bytes[index]) { index &+= 1 }
            guard count - index > 7, Self.spells(bytes, index..<(index &+ 6), "digest"), Self.isBlank(bytes[index &+ 6]) else {
                return nil
            }
            index &+= 7
            while index < count {
                while index < count, Self.isBlank(bytes[index]) || bytes[index] == UInt8(ascii: ",") { index &+= 1 }
                let nameStart = index
                while index < count, !Self.isBlank(bytes[index]), bytes[index] != UInt8(ascii: "="), bytes[index] != UInt8(ascii: ",") {
                    index &+= 1
                }
                let name = nameStart..<index
                while index < count, Self.isBlank(bytes[index]) { index &+= 1 }
                guard index < count, bytes[index] == UInt8(ascii: "=") else { continue }
                index &+= 1
                while index < count, Self.isBlank(bytes[index]) { index &+= 1 }
                let value: Range<Int>
                if index < count, bytes[index] == UInt8(ascii: "\"") {
                    let valueStart = index &+ 1
                    index = valueStart
                    while index < count, bytes[index] != UInt8(ascii: "\"") {
                        index &+= bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                    }
                    guard index < count else { return nil }
                    value = valueStart..<index
                    index &+= 1
                } else {
                    let valueStart = index
                    while index < count, !Self.isBlank(bytes[index]), bytes[index] != UInt8(ascii: ",") { index &+= 1 }
                    value = valueStart..<index
                }
                keep(value, named: name, in: bytes)
            }
        }

        private mutating func keep(_ value: Range<Int>, named name: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) {
            switch name.count {
            case 2 where Self.spells(bytes, name, "nc"): nc = value
            case 3 where Self.spells(bytes, name, "uri"): uri = value
            case 3 where Self.spells(bytes, name, "qop"): qop = value
            case 5 where Self.spells(bytes, name, "realm"): realm = value
            case 5 where Self.spells(bytes, name, "nonce"): nonce = value
            case 6 where Self.spells(bytes, name, "cnonce"): cnonce = value
            case 8 where Self.spells(bytes, name, "username"): username = value
            case 8 where Self.spells(bytes, name, "response"): response = value
            case 9 where Self.spells(bytes, name, "algorithm"): algorithm = value
            default: break
            }
        }

        private static func isBlank(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
        }

        /// Whether the bytes in `range` spell `word` (given in lower case), ignoring ASCII case.
        private static func spells(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ word: StaticString) -> Bool {
            guard range.count == word.utf8CodeUnitCount else { return false }
            for offset in 0..<range.count where bytes[range.lowerBound &+ offset] | 0x20 != word.utf8Start[offset] {
                return false
            }
            return true
        }
    }
}
