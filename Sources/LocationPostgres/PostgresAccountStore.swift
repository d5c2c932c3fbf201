import Location
import PostgresNIO

/// An ``AccountStore`` in PostgreSQL, shared by the registrars of a cluster: digest hashes only,
/// never a password (RFC 8760).
public final class PostgresAccountStore: AccountStore {
    private let database: PostgresDatabase

    /// A store on `database` (run the database as a service first).
    public init(database: PostgresDatabase) {
        self.database = database
    }

    public func account(username: String, realm: String) async throws -> Account? {
        try await all(where: "looking up \(username)@\(realm)",
                      "SELECT username, realm, ha1_md5, ha1_sha256 FROM edgeway_account WHERE realm = \(realm) AND username = \(username)").first
    }

    public func save(_ account: Account) async throws {
        try await database.withDeadline("saving \(account.username)@\(account.realm)") { [database] in
            _ = try await database.client.query("""
                INSERT INTO edgeway_account (realm, username, ha1_md5, ha1_sha256)
                VALUES (\(account.realm), \(account.username), \(account.ha1MD5), \(account.ha1SHA256))
                ON CONFLICT (realm, username) DO UPDATE SET ha1_md5 = EXCLUDED.ha1_md5, ha1_sha256 = EXCLUDED.ha1_sha256
                """, logger: database.logger)
        }
    }

    public func remove(username: String, realm: String) async throws -> Bool {
        try await database.withDeadline("removing \(username)@\(realm)") { [database] in
            let rows = try await database.client.query(
                "DELETE FROM edgeway_account WHERE realm = \(realm) AND username = \(username) RETURNING 1", logger: database.logger)
            return try await rows.decode(Int.self).first(where: { _ in true }) != nil
        }
    }

    public func all() async throws -> [Account] {
        try await all(where: "listing accounts", "SELECT username, realm, ha1_md5, ha1_sha256 FROM edgeway_account ORDER BY realm, username")
    }

    private func all(where what: String, _ query: PostgresQuery) async throws -> [Account] {
        try await database.withDeadline(what) { [database] in
            var accounts: [Account] = []
            let rows = try await database.client.query(query, logger: database.logger)
            for try await (username, realm, md5, sha256) in rows.decode((String, String, String, String).self) {
                accounts.append(Account(username: username, realm: realm, ha1MD5: md5, ha1SHA256: sha256))
            }
            return accounts
        }
    }
}
