import Crypto
import Phone
import Location
import SIPCore
import Testing
import TestSupport
@testable import Registrar

/// Digest authentication as a pure function of the request, the account and the time.
@Suite("Digest authenticator")
struct DigestAuthenticatorTests {
    let authenticator = DigestAuthenticator(realm: "example.com", secret: Array(repeating: 7, count: 32), nonceLifetime: 60_000)
    let account = DigestAuthenticator.account(username: "alice", realm: "example.com", password: "secret")
    let now: Int64 = 1_800_000_000_000

    func request(answering challenge: String, password: String = "secret", username: String = "alice") -> SIPMessage {
        var message = try! SIPParser.parse(MRAFixtures.register)
        message.headers.append(.authorization, DigestClient.authorization(for: message, challenge: Substring(challenge),
                                                                          username: username, password: password))
        return message
    }

    func verify(_ message: SIPMessage, at time: Int64) async -> DigestAuthenticator.Verdict {
        await authenticator.verify(message, now: time) { $0 == "alice" ? account : nil }
    }

    @Test func challengesOfferSHA256ThenMD5() {
        let challenges = authenticator.challenges(now: now)
        #expect(challenges.count == 2)
        #expect(challenges[0].contains("algorithm=SHA-256") && challenges[1].contains("algorithm=MD5"))
        #expect(challenges.allSatisfy { $0.contains("qop=\"auth\"") && !$0.contains("stale") })
    }

    @Test func bothAlgorithmsAuthenticate() async {
        for challenge in authenticator.challenges(now: now) {
            #expect(await verify(request(answering: challenge), at: now + 1_000) == .authenticated(username: "alice"))
        }
    }

    @Test func aWrongPasswordOrUnknownUserIsRefused() async {
        let challenge = authenticator.challenges(now: now)[0]
        #expect(await verify(request(answering: challenge, password: "wrong"), at: now) == .refused)
        #expect(await verify(request(answering: challenge, username: "mallory"), at: now) == .refused)
    }

    @Test func anExpiredNonceIsStaleAndTheNewChallengeSaysSo() async {
        let challenge = authenticator.challenges(now: now)[0]
        #expect(await verify(request(answering: challenge), at: now + 61_000) == .stale)
        #expect(authenticator.challenges(now: now, stale: true).allSatisfy { $0.hasSuffix("stale=true") })
    }

    @Test func aForgedNonceIsNotAccepted() async {
        let other = DigestAuthenticator(realm: "example.com", secret: Array(repeating: 9, count: 32))
        let challenge = other.challenges(now: now)[0]
        #expect(await verify(request(answering: challenge), at: now) == .missing)
    }

    @Test func noAuthorizationForThisRealmMeansChallenge() async {
        #expect(await verify(try! SIPParser.parse(MRAFixtures.register), at: now) == .missing)
    }

    @Test func credentialsAreReadWhateverTheSpacingQuotingAndCase() throws {
        let header: Substring = #"  digest  username="al\"ice", realm = "example.com",nonce="a,b", uri=sip:example.com ,"#
            + #" response="00ff", algorithm=MD5, qop=auth, nc=00000001, cnonce="c1", opaque="", extra"#
        let credentials = try #require(DigestCredentials(header))
        #expect(credentials.username == #"al\"ice"#)
        #expect(credentials.realm == "example.com")
        #expect(credentials.nonce == "a,b")
        #expect(credentials.uri == "sip:example.com")
        #expect(credentials.response == "00ff")
        #expect(credentials.algorithm == "MD5")
        #expect(credentials.qop == "auth")
        #expect(credentials.nc == "00000001")
        #expect(credentials.cnonce == "c1")
    }

    @Test func otherSchemesMissingFieldsAndOpenQuotesAreNotCredentials() {
        #expect(DigestCredentials(#"Basic dXNlcjpwYXNz"#) == nil)
        #expect(DigestCredentials(#"Digest username="alice", realm="example.com", nonce="n", uri="sip:x""#) == nil)
        #expect(DigestCredentials(#"Digest username="alice, realm="example.com", nonce="n", uri="sip:x", response="r""#) == nil)
        #expect(DigestCredentials(#"Digestusername="alice""#) == nil)
    }

    /// The nonce signer's own HMAC agrees with swift-crypto's, for short and long keys.
    @Test(arguments: [16, 64, 100])
    func theNonceSignerIsHMACSHA256(keyLength: Int) {
        let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let nonce = Array("18f3a2b4c5d".utf8)
        let ours = nonce.withUnsafeBytes { NonceSigner(secret: key, realm: "example.com").code(for: $0) }
        let reference = HMAC<SHA256>.authenticationCode(for: Array("example.com:".utf8) + nonce, using: SymmetricKey(data: key))
        #expect(Array(ours) == Array(reference))
    }
}
