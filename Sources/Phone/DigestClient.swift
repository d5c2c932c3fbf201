import Crypto
import NIOCore
import SIPCore

/// Answers digest challenges the way a phone does (RFC 3261 §22.4, RFC 7616, RFC 8760): on every
/// request the phone sends, to a 401 with Authorization and to a 407 with Proxy-Authorization.
public enum DigestClient {
    /// The challenge to answer in a 401 or 407: the topmost one whose algorithm and qop this
    /// client supports (RFC 8760 §2.4) — WWW-Authenticate values first, then Proxy-Authenticate —
    /// or `nil` when there is none (a SHA-512-256-only challenge, say).
    public static func challenge(in response: SIPMessage) -> DigestChallenge? {
        response.headers.lines(.wwwAuthenticate).lazy.compactMap { DigestChallenge($0) }.first
            ?? response.headers.lines(.proxyAuthenticate).lazy.compactMap { DigestChallenge($0, fromProxy: true) }.first
    }

    /// The header that answers `challenge` for `request` (Authorization, or Proxy-Authorization
    /// for a proxy's challenge) and its value. `nc` counts the requests answered with this nonce
    /// (sent as 8 hex digits); `cnonce` is fresh random unless given.
    public static func credentials(for request: SIPMessage, challenge: DigestChallenge, username: String, password: String,
                                   cnonce: String = String(UInt64.random(in: 1...UInt64.max), radix: 16),
                                   nc: Int = 1) -> (header: SIPHeaderName, value: String) {
        let method = request.requestLine?.method ?? "REGISTER"
        let uri = String(request.requestLine?.uri ?? "")
        let count = String(String(nc, radix: 16).suffix(8)).leftPadded(to: 8)
        func hash(_ text: String) -> String { hex(digest(Array(text.utf8), challenge.algorithm)) }
        var ha1 = hash("\(username):\(challenge.realm):\(password)")
        if challenge.algorithm == .sha256Session || challenge.algorithm == .md5Session {
            ha1 = hash("\(ha1):\(challenge.nonce):\(cnonce)")
        }
        let ha2 = challenge.protection == .authIntegrity
            ? hash("\(method):\(uri):\(hex(digest(Array(request.body.readableBytesView), challenge.algorithm)))")
            : hash("\(method):\(uri)")
        let response = challenge.protection == .none
            ? hash("\(ha1):\(challenge.nonce):\(ha2)")
            : hash("\(ha1):\(challenge.nonce):\(count):\(cnonce):\(challenge.protection.rawValue):\(ha2)")
        var value = "Digest username=\(quoted(username)), realm=\(quoted(challenge.realm)), nonce=\(quoted(challenge.nonce)), "
            + "uri=\(quoted(uri)), response=\"\(response)\", algorithm=\(challenge.algorithm.rawValue)"
        if let opaque = challenge.opaque { value += ", opaque=\(quoted(opaque))" }
        if challenge.protection != .none {
            value += ", qop=\(challenge.protection.rawValue), nc=\(count), cnonce=\(quoted(cnonce))"
        }
        return (challenge.fromProxy ? .proxyAuthorization : .authorization, value)
    }

    /// The Authorization value answering the first of `challenges` (WWW-Authenticate values) this
    /// client supports, or `nil` when it supports none.
    public static func authorization(for request: SIPMessage, challenges: [Substring], username: String, password: String,
                                     cnonce: String = String(UInt64.random(in: 1...UInt64.max), radix: 16)) -> String? {
        guard let challenge = challenges.lazy.compactMap({ DigestChallenge($0) }).first else { return nil }
        return credentials(for: request, challenge: challenge, username: username, password: password, cnonce: cnonce).value
    }

    private static func digest(_ bytes: [UInt8], _ algorithm: DigestChallenge.Algorithm) -> [UInt8] {
        switch algorithm {
        case .sha256, .sha256Session: Array(SHA256.hash(data: bytes))
        case .md5, .md5Session: Array(Insecure.MD5.hash(data: bytes))
        }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// A quoted-string (RFC 3261 §25.1): quotes and backslashes escaped.
    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

extension String {
    /// Left-padded with zeros to `width`.
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
