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
        message.headers.append(.authorization, DigestClient.authorization(for: message, challenges: [Substring(challenge)],
                                                                          username: username, password: password) ?? "")
        return message
    }

    func verify(_ message: SIPMessage, at time: Int64) async -> DigestAuthenticator.Verdict {
        authenticator.verifyNow(message, now: time) { .some($0 == "alice" ? account : nil) } ?? .missing
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

    @Test func aNonceFromAnotherRegistrarIsNotAcceptedButCountsAsStaleWithTheRightPassword() async {
        let other = DigestAuthenticator(realm: "example.com", secret: Array(repeating: 9, count: 32))
        let challenge = other.challenges(now: now)[0]
        #expect(await verify(request(answering: challenge), at: now) == .stale, "re-challenged with stale=true, not refused")
        #expect(await verify(request(answering: challenge, password: "wrong"), at: now) == .refused)
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

    /// SipHash-2-4 against the reference vectors (key 00…0f, message 00…0e, and the empty
    /// message), so the nonce signer is the function it claims to be.
    @Test func theNonceSignerIsSipHash24() {
        let signer = NonceSigner(key: Array(0..<16))
        let message = Array(UInt8(0)..<15)
        #expect(message.withUnsafeBytes { signer.code(for: $0) } == 0xA129_CA61_49BE_45E5)
        #expect([UInt8]().withUnsafeBytes { signer.code(for: $0) } == 0x726F_DB47_DD0E_0E31)
    }
}
