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
            func skip(_ isSkipped: (UInt8) -> Bool) {
                while index < count, isSkipped(bytes[index]) { index &+= 1 }
            }
            func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
            skip(isBlank)
            guard count - index > 7, sameLetters(bytes[index..<(index &+ 6)], "digest"), isBlank(bytes[index &+ 6]) else { return nil }
            index &+= 7
            while index < count {
                skip { isBlank($0) || $0 == UInt8(ascii: ",") }
                let nameStart = index
                skip { !isBlank($0) && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: ",") }
                let name = UnsafeBufferPointer(rebasing: bytes[nameStart..<index])
                skip(isBlank)
                guard index < count, bytes[index] == UInt8(ascii: "=") else { continue }
                index &+= 1
                skip(isBlank)
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
                    skip { !isBlank($0) && $0 != UInt8(ascii: ",") }
                    value = valueStart..<index
                }
                switch name.count {
                case 2 where sameLetters(name, "nc"): nc = value
                case 3 where sameLetters(name, "uri"): uri = value
                case 3 where sameLetters(name, "qop"): qop = value
                case 5 where sameLetters(name, "realm"): realm = value
                case 5 where sameLetters(name, "nonce"): nonce = value
                case 6 where sameLetters(name, "cnonce"): cnonce = value
                case 8 where sameLetters(name, "username"): username = value
                case 8 where sameLetters(name, "response"): response = value
                case 9 where sameLetters(name, "algorithm"): algorithm = value
                default: continue
                }
            }
        }
    }
}
