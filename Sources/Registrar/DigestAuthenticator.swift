import Crypto
import Location
import SIPCore

/// HTTP digest authentication for SIP with SHA-256 and MD5 (RFC 8760, RFC 7616 §3.4).
///
/// Nonces carry their creation time and an HMAC of it, so the registrar keeps no nonce state;
/// an old nonce with a valid HMAC gets `stale=true` and the phone retries without asking the
/// user again.
public struct DigestAuthenticator: Sendable {
    /// The outcome of checking an Authorization header.
    public enum Verdict: Equatable, Sendable {
        /// The credentials are right.
        case authenticated(username: String)
        /// No usable credentials for this realm: challenge.
        case missing
        /// Right password, expired nonce: challenge with `stale=true`.
        case stale
        /// The user is unknown or the password is wrong: 403.
        case refused
    }

    /// The digest hash algorithms offered, strongest first.
    public enum Algorithm: String, CaseIterable, Sendable {
        case sha256 = "SHA-256"
        case md5 = "MD5"

        func hash(_ text: String) -> String {
            switch self {
            case .sha256: Self.hex(DigestAuthenticator.hash(SHA256.self, [text[...]]))
            case .md5: Self.hex(DigestAuthenticator.hash(Insecure.MD5.self, [text[...]]))
            }
        }

        /// Lower-case hex of a digest, built in one allocation.
        static func hex(_ digest: some Digest) -> String {
            let digits: StaticString = "0123456789abcdef"
            return digest.withUnsafeBytes { digest in
                String(unsafeUninitializedCapacity: digest.count * 2) { output in
                    for (index, byte) in digest.enumerated() {
                        output[2 * index] = digits.utf8Start[Int(byte >> 4)]
                        output[2 * index + 1] = digits.utf8Start[Int(byte & 0x0F)]
                    }
                    return digest.count * 2
                }
            }
        }
    }

    /// The realm (the domain).
    public let realm: String
    /// The algorithms offered, in order of preference (RFC 8760 §2.4). Default SHA-256, then MD5.
    public let algorithms: [Algorithm]
    /// How long a nonce is accepted, in milliseconds. Default 5 minutes.
    public let nonceLifetime: Int64
    /// Signs nonces (SipHash-2-4 keyed from the secret and the realm).
    private let nonceSigner: NonceSigner
    /// `Digest realm="…", nonce="`: the start of every challenge.
    private let challengePrefix: String

    /// Creates an authenticator; `secret` signs nonces (random per process by default).
    public init(realm: String, algorithms: [Algorithm] = [.sha256, .md5],
                secret: [UInt8] = (0..<32).map { _ in UInt8.random(in: 0...255) }, nonceLifetime: Int64 = 300_000) {
        self.realm = realm
        self.algorithms = algorithms
        self.nonceSigner = NonceSigner(secret: secret, realm: realm)
        self.challengePrefix = "Digest realm=\"\(realm)\", nonce=\""
        self.nonceLifetime = nonceLifetime
    }

    /// The hashes of a new password, for an ``Account``.
    public static func account(username: String, realm: String, password: String) -> Account {
        let a1 = "\(username):\(realm):\(password)"
        return Account(username: username, realm: realm, ha1MD5: Algorithm.md5.hash(a1), ha1SHA256: Algorithm.sha256.hash(a1))
    }

    /// WWW-Authenticate values, one per algorithm in order of preference (RFC 8760 §2.4).
    public func challenges(now: Int64, stale: Bool = false) -> [String] {
        let nonce = makeNonce(now: now)
        return algorithms.map { algorithm in
            var value = challengePrefix
            value.reserveCapacity(value.utf8.count + 96)
            value.append(nonce)
            value.append("\", algorithm=")
            value.append(algorithm.rawValue)
            value.append(stale ? ", qop=\"auth\", stale=true" : ", qop=\"auth\"")
            return value
        }
    }

    /// Checks the Authorization header of a request for this realm (RFC 3261 §22.4, RFC 8760).
    /// `account` returns the account of a user name, `.some(nil)` for a user known not to exist,
    /// and `nil` when it cannot tell without reading the store: then so does this, and the
    /// caller reads the account and asks again.
    public func verifyNow(_ request: SIPMessage, now: Int64, account: (String) -> Account??) -> Verdict? {
        switch offer(in: request) {
        case .verdict(let verdict):
            return verdict
        case .credentials(let credentials, let algorithm, let method):
            guard let found = account(String(credentials.username)) else { return nil }
            return check(credentials, algorithm: algorithm, method: method, account: found, now: now)
        }
    }

    /// What a request's Authorization headers offer for this realm: a verdict already, or
    /// credentials to check against an account.
    private enum Offer {
        case verdict(Verdict)
        case credentials(DigestCredentials, Algorithm, method: String)
    }

    private func offer(in request: SIPMessage) -> Offer {
        guard let method = request.requestLine?.method else { return .verdict(.missing) }
        let candidates = request.headers.lines(.authorization).compactMap(DigestCredentials.init)
        guard let credentials = candidates.first(where: { $0.realm == realm }) else { return .verdict(.missing) }
        guard let algorithm = algorithms.first(where: { $0.rawValue.caseInsensitiveEquals(credentials.algorithm ?? "MD5") }) else {
            return .verdict(.refused)
        }
        return .credentials(credentials, algorithm, method: method)
    }

    private func check(_ credentials: DigestCredentials, algorithm: Algorithm, method: String, account: Account?,
                       now: Int64) -> Verdict {
        guard let account else { return .refused }
        if let qop = credentials.qop {
            guard qop == "auth", credentials.nc != nil, credentials.cnonce != nil else { return .refused }
        }
        let expected = switch algorithm {
        case .sha256: Self.response(SHA256.self, ha1: account.ha1SHA256, method: method, credentials: credentials)
        case .md5: Self.response(Insecure.MD5.self, ha1: account.ha1MD5, method: method, credentials: credentials)
        }
        guard expected.caseInsensitiveEquals(credentials.response) else { return .refused }
        switch nonceAge(credentials.nonce, now: now) {
        case .some(let age) where age <= nonceLifetime: return .authenticated(username: String(credentials.username))
        // A nonce this process did not sign (another registrar of the cluster, or this one before
        // a restart) with the right password is stale too: the phone answers again without
        // counting as a failure (RFC 7616 §3.3).
        case .some, .none: return .stale
        }
    }

    /// The response a client knowing the password sends (RFC 7616 §3.4.1):
    /// `H(ha1:nonce[:nc:cnonce:qop]:H(method:uri))`.
    private static func response<H: HashFunction>(_: H.Type, ha1: String, method: String,
                                                  credentials: DigestCredentials) -> String {
        let ha2 = Algorithm.hex(hash(H.self, [Substring(method), credentials.uri]))
        var parts = [Substring(ha1), credentials.nonce]
        if let qop = credentials.qop, let nc = credentials.nc, let cnonce = credentials.cnonce {
            parts += [nc, cnonce, qop]
        }
        parts.append(Substring(ha2))
        return Algorithm.hex(hash(H.self, parts))
    }

    /// The hash of the parts joined with `:`, fed to the hash function in one piece.
    private static func hash<H: HashFunction>(_: H.Type, _ parts: [Substring]) -> H.Digest {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        for var part in parts {
            if !bytes.isEmpty { bytes.append(UInt8(ascii: ":")) }
            part.withUTF8 { bytes.append(contentsOf: $0) }
        }
        var hasher = H()
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize()
    }

    private func makeNonce(now: Int64) -> String {
        let digits: StaticString = "0123456789abcdef"
        // At most 16 hex digits of time, a dot and 16 of tag: written in place, no pieces.
        return String(unsafeUninitializedCapacity: 33) { output in
            var count = 0
            var shift = 60
            while shift > 0, (UInt64(bitPattern: now) >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
            while shift >= 0 {
                output[count] = digits.utf8Start[Int((UInt64(bitPattern: now) >> UInt64(shift)) & 0xF)]
                count += 1
                shift -= 4
            }
            let tag = nonceSigner.code(for: UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(output)[0..<count]))
            output[count] = UInt8(ascii: ".")
            count += 1
            for shift in stride(from: 60, through: 0, by: -4) {
                output[count] = digits.utf8Start[Int((tag >> UInt64(shift)) & 0xF)]
                count += 1
            }
            return count
        }
    }

    /// The age of a nonce this authenticator made, or `nil` for a forged or foreign one.
    /// A nonce is `<creation time in hex>.<its 64-bit tag in 16 hex digits>`.
    private func nonceAge(_ nonce: Substring, now: Int64) -> Int64? {
        var nonce = nonce
        return nonce.withUTF8 { bytes -> Int64? in
            guard let dot = bytes.firstIndex(of: UInt8(ascii: ".")), dot > 0, dot <= 15, bytes.count - dot - 1 == 16 else { return nil }
            guard let made = Self.hexValue(UnsafeBufferPointer(rebasing: bytes[..<dot])),
                  let tag = Self.hexValue(UnsafeBufferPointer(rebasing: bytes[(dot + 1)...])),
                  nonceSigner.code(for: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[..<dot]))) == tag
            else { return nil }
            return now - Int64(made)
        }
    }

    /// Lower-case hex digits as a number (at most 16 of them).
    private static func hexValue(_ digits: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for byte in digits {
            guard let digit = hexDigitValue(byte) else { return nil }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    private static func hexDigitValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
