import SIPCore

/// One `Digest` challenge (a WWW-Authenticate or Proxy-Authenticate value, RFC 3261 §22.4,
/// RFC 7616 §3.3), as a client reads it: parameter names case-insensitive, values quoted or not,
/// quoted values with their backslash escapes undone.
public struct DigestChallenge: Sendable, Equatable {
    /// The hash functions a client can answer with (RFC 8760 §2.2; RFC 7616 §3.7 for `-sess`).
    public enum Algorithm: String, Sendable, CaseIterable {
        case sha256 = "SHA-256"
        case sha256Session = "SHA-256-sess"
        case md5 = "MD5"
        case md5Session = "MD5-sess"

        /// The algorithm named (case-insensitively, RFC 7616 §3.3); `nil` for one not supported,
        /// such as SHA-512-256.
        init?(named name: Substring) {
            guard let known = Self.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else { return nil }
            self = known
        }
    }

    /// The quality of protection answered (RFC 7616 §3.3): `auth` when offered, else `auth-int`;
    /// `none` for an RFC 2069 challenge without `qop` (answered without qop, nc and cnonce).
    public enum Protection: String, Sendable {
        case auth, authIntegrity = "auth-int", none
    }

    public var realm: String
    public var nonce: String
    public var opaque: String?
    public var algorithm: Algorithm
    public var protection: Protection
    /// Whether only the nonce was stale: the same credentials are answered again (RFC 7616 §3.3).
    public var stale: Bool
    /// Whether it came in a Proxy-Authenticate (answered with Proxy-Authorization, §22.3).
    public var fromProxy: Bool

    /// Reads a challenge; `nil` when the scheme is not Digest, realm or nonce is missing, or the
    /// algorithm or every offered qop is one this client cannot answer.
    public init?(_ value: Substring, fromProxy: Bool = false) {
        var rest = value.drop { $0 == " " || $0 == "\t" }
        guard rest.prefix(6).lowercased() == "digest", rest.dropFirst(6).first.map({ $0 == " " || $0 == "\t" }) == true else { return nil }
        rest = rest.dropFirst(6)
        let fields = Self.parameters(rest)
        guard let realm = fields["realm"], let nonce = fields["nonce"] else { return nil }
        guard let algorithm = Algorithm(named: Substring(fields["algorithm"] ?? "MD5")) else { return nil }
        let offered = fields["qop"].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }
        let protection: Protection
        switch offered {
        case nil: protection = .none
        case let list? where list.contains("auth"): protection = .auth
        case let list? where list.contains("auth-int"): protection = .authIntegrity
        default: return nil
        }
        self.realm = realm
        self.nonce = nonce
        self.opaque = fields["opaque"]
        self.algorithm = algorithm
        self.protection = protection
        self.stale = fields["stale"]?.lowercased() == "true"
        self.fromProxy = fromProxy
    }

    /// `name=value, name="value", …` → lowercased names and unescaped values. A quoted value may
    /// hold commas, equals signs and escaped quotes.
    static func parameters(_ text: Substring) -> [String: String] {
        var fields: [String: String] = [:]
        var index = text.startIndex
        func skip(_ characters: Set<Character>) {
            while index < text.endIndex, characters.contains(text[index]) { index = text.index(after: index) }
        }
        while index < text.endIndex {
            skip([" ", "\t", ","])
            let nameStart = index
            while index < text.endIndex, !" \t=,".contains(text[index]) { index = text.index(after: index) }
            let name = text[nameStart..<index].lowercased()
            skip([" ", "\t"])
            guard index < text.endIndex, text[index] == "=" else { continue }
            index = text.index(after: index)
            skip([" ", "\t"])
            var value = ""
            if index < text.endIndex, text[index] == "\"" {
                index = text.index(after: index)
                while index < text.endIndex, text[index] != "\"" {
                    if text[index] == "\\", text.index(after: index) < text.endIndex { index = text.index(after: index) }
                    value.append(text[index])
                    index = text.index(after: index)
                }
                if index < text.endIndex { index = text.index(after: index) }
            } else {
                while index < text.endIndex, !" \t,".contains(text[index]) {
                    value.append(text[index])
                    index = text.index(after: index)
                }
            }
            if !name.isEmpty, fields[name] == nil { fields[name] = value }
        }
        return fields
    }
}
