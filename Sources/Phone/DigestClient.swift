import Crypto
import SIPCore

/// Answers a digest challenge the way a phone does (RFC 8760 SHA-256 or MD5, qop=auth).
public enum DigestClient {
    /// The Authorization value for `request` answering the `challenge` (a WWW-Authenticate value).
    public static func authorization(for request: SIPMessage, challenge: Substring, username: String,
                                     password: String, cnonce: String = "0a4f113b", nc: String = "00000001") -> String {
        func field(_ name: String) -> String {
            guard let range = challenge.range(of: "\(name)=") else { return "" }
            var value = challenge[range.upperBound...]
            if value.first == "\"" {
                value = value.dropFirst()
                return String(value.prefix { $0 != "\"" })
            }
            return String(value.prefix { $0 != "," && $0 != " " })
        }
        let realm = field("realm"), nonce = field("nonce"), algorithm = field("algorithm")
        let method = request.requestLine?.method ?? "REGISTER"
        let uri = String(request.requestLine?.uri ?? "")
        func hash(_ text: String) -> String {
            let bytes = Array(text.utf8)
            let digest: [UInt8] = algorithm == "SHA-256" ? Array(SHA256.hash(data: bytes)) : Array(Insecure.MD5.hash(data: bytes))
            return digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }
        let ha1 = hash("\(username):\(realm):\(password)")
        let ha2 = hash("\(method):\(uri)")
        let response = hash("\(ha1):\(nonce):\(nc):\(cnonce):auth:\(ha2)")
        // No algorithm in the challenge means MD5, and then none is named in the answer (RFC 2617).
        let named = algorithm.isEmpty ? "" : ", algorithm=\(algorithm)"
        return "Digest username=\"\(username)\", realm=\"\(realm)\", nonce=\"\(nonce)\", uri=\"\(uri)\", "
            + "response=\"\(response)\"\(named), cnonce=\"\(cnonce)\", qop=auth, nc=\(nc)"
    }
}
