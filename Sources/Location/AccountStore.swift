/// A SIP account: a user of a realm with the digest hashes of its password (RFC 8760). The
/// password itself is never stored.
public struct Account: Hashable, Sendable, Codable {
    /// The user name (the user part of the address of record).
    public var username: String
    /// The digest realm (the domain).
    public var realm: String
    /// MD5(username:realm:password), lower-case hex.
    public var ha1MD5: String
    /// SHA-256(username:realm:password), lower-case hex.
    public var ha1SHA256: String

    /// Creates an account from its hashes.
    public init(username: String, realm: String, ha1MD5: String, ha1SHA256: String) {
        self.username = username
        self.realm = realm
        self.ha1MD5 = ha1MD5
        self.ha1SHA256 = ha1SHA256
    }
}

/// Where a registrar keeps accounts. Implementations: ``InMemoryAccountStore`` here and an
/// SQLite one in `LocationSQLite`.
public protocol AccountStore: Sendable {
    /// The account, if it exists.
    func account(username: String, realm: String) async throws -> Account?
    /// Adds or replaces an account.
    func save(_ account: Account) async throws
    /// Removes an account; returns whether it existed.
    func remove(username: String, realm: String) async throws -> Bool
    /// Every account, ordered by realm and user name.
    func all() async throws -> [Account]
}

/// An ``AccountStore`` in memory, for tests.
public actor InMemoryAccountStore: AccountStore {
    private var accounts: [String: Account] = [:]

    /// Creates an empty store.
    public init() {}

    public func account(username: String, realm: String) -> Account? {
        accounts["\(realm)\u{0}\(username)"]
    }

    public func save(_ account: Account) {
        accounts["\(account.realm)\u{0}\(account.username)"] = account
    }

    public func remove(username: String, realm: String) -> Bool {
        accounts.removeValue(forKey: "\(realm)\u{0}\(username)") != nil
    }

    public func all() -> [Account] {
        accounts.values.sorted { ($0.realm, $0.username) < ($1.realm, $1.username) }
    }
}
