import Crypto
import Phone
import SIPCore
import Testing

/// The phone's digest client (RFC 3261 §22.4, RFC 7616, RFC 8760) against answers worked out here
/// from the RFCs' formulas, not by the client itself.
@Suite("Digest client")
struct DigestClientTests {
    static let register = try! SIPParser.parse("""
        REGISTER sip:example.com SIP/2.0\r
        Via: SIP/2.0/TLS 192.0.2.20:5061;branch=z9hG4bK-1\r
        From: <sip:alice@example.com>;tag=1\r
        To: <sip:alice@example.com>\r
        Call-ID: c1\r
        CSeq: 2 REGISTER\r
        Content-Length: 0\r
        \r

        """)

    static func md5(_ text: String) -> String { Insecure.MD5.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined() }
    static func sha256(_ text: String) -> String { SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined() }

    /// The value of `name` in an Authorization value, quotes removed.
    static func field(_ name: String, in value: String) -> String? {
        value.split(separator: ",").compactMap { part -> String? in
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].hasSuffix(name), pair[0].split(separator: " ").last.map(String.init) == name else { return nil }
            return pair[1].trimmingCharacters(in: ["\""])
        }.first
    }

    func challenge(_ lines: [String]) throws -> SIPMessage {
        var response = try SIPParser.parse("SIP/2.0 401 Unauthorized\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n")
        for line in lines { response.headers.append(.wwwAuthenticate, line) }
        return response
    }

    @Test func theTopmostSupportedChallengeIsAnsweredWithItsOwnAlgorithm() throws {
        let response = try challenge([#"Digest realm="example.com", nonce="n1", algorithm=SHA-512-256, qop="auth""#,
                                      #"Digest realm="example.com", nonce="n2", algorithm=MD5, qop="auth""#])
        let chosen = try #require(DigestClient.challenge(in: response))
        #expect(chosen.nonce == "n2" && chosen.algorithm == .md5)
        let value = DigestClient.credentials(for: Self.register, challenge: chosen, username: "alice", password: "pw", cnonce: "c0ffee").value
        let ha1 = Self.md5("alice:example.com:pw"), ha2 = Self.md5("REGISTER:sip:example.com")
        #expect(Self.field("algorithm", in: value) == "MD5")
        #expect(Self.field("response", in: value) == Self.md5("\(ha1):n2:00000001:c0ffee:auth:\(ha2)"))
        #expect(Self.field("nc", in: value) == "00000001")
    }

    @Test func algorithmNamesAreCaseInsensitive() throws {
        let chosen = try #require(DigestClient.challenge(in: try challenge([#"Digest realm="example.com", nonce="n", algorithm=sha-256, qop="auth""#])))
        #expect(chosen.algorithm == .sha256)
        let value = DigestClient.credentials(for: Self.register, challenge: chosen, username: "alice", password: "pw", cnonce: "c").value
        let ha1 = Self.sha256("alice:example.com:pw"), ha2 = Self.sha256("REGISTER:sip:example.com")
        #expect(Self.field("response", in: value) == Self.sha256("\(ha1):n:00000001:c:auth:\(ha2)"))
        #expect(Self.field("algorithm", in: value) == "SHA-256")
    }

    @Test func aChallengeWithoutQopIsAnsweredTheRFC2069Way() throws {
        let chosen = try #require(DigestClient.challenge(in: try challenge([#"Digest realm="example.com", nonce="n", opaque="o\"1""#])))
        let value = DigestClient.credentials(for: Self.register, challenge: chosen, username: "alice", password: "pw").value
        let ha1 = Self.md5("alice:example.com:pw"), ha2 = Self.md5("REGISTER:sip:example.com")
        #expect(Self.field("response", in: value) == Self.md5("\(ha1):n:\(ha2)"))
        #expect(Self.field("qop", in: value) == nil && Self.field("nc", in: value) == nil && Self.field("cnonce", in: value) == nil)
        #expect(value.contains(#"opaque="o\"1""#), "opaque echoed as given: \(value)")
    }

    @Test func sessionAlgorithmsAuthIntAndProxiesAreAnswered() throws {
        var response = try challenge([])
        response.headers.append(.proxyAuthenticate, #"Digest realm="proxy", nonce="p", algorithm=MD5-sess, qop="auth-int""#)
        let chosen = try #require(DigestClient.challenge(in: response))
        let (header, value) = DigestClient.credentials(for: Self.register, challenge: chosen, username: "alice", password: "pw",
                                                      cnonce: "c", nc: 3)
        #expect(header == .proxyAuthorization)
        let ha1 = Self.md5("\(Self.md5("alice:proxy:pw")):p:c"), ha2 = Self.md5("REGISTER:sip:example.com:\(Self.md5(""))")
        #expect(Self.field("response", in: value) == Self.md5("\(ha1):p:00000003:c:auth-int:\(ha2)"))
    }

    @Test func challengesThisClientCannotAnswerAreNotChosen() throws {
        #expect(DigestClient.challenge(in: try challenge([#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#])) == nil)
        #expect(DigestClient.challenge(in: try challenge([#"Digest realm="r", nonce="n", qop="auth-conf""#])) == nil)
        #expect(DigestClient.challenge(in: try challenge([#"Basic realm="r""#, #"Digest nonce="n""#])) == nil)
        let quoted = try #require(DigestClient.challenge(in: try challenge([#"Digest realm="a, nonce=\"x\"", nonce="real", stale=TRUE"#])))
        #expect(quoted.realm == #"a, nonce="x""# && quoted.nonce == "real" && quoted.stale)
    }
}
