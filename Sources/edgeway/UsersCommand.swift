import ArgumentParser
import EdgewayNode
import Foundation
import Location
import LocationPostgres
import Registrar

/// `edgeway users add|list|remove`: the registrar's accounts in its data folder, or in the
/// PostgreSQL its configuration's `store:` names.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage the registrar's SIP accounts (stored as digest hashes in SQLite, or in PostgreSQL for a cluster).",
        subcommands: [Add.self, List.self, Remove.self]
    )

    /// Where the accounts are: a configuration file or a data folder and domain.
    struct Location: ParsableArguments {
        @Option(help: "A node configuration file (its data folder or PostgreSQL store, and its domain, are used).")
        var config: String?

        @Option(help: "The data folder (default ./edgeway-data).")
        var data: String?

        @Option(help: "The SIP domain / digest realm (default example.com).")
        var domain: String?

        /// The account store and the domain; cancel `database` when done (PostgreSQL's pool). Only
        /// `creating` makes a data folder that is not there yet.
        func resolve(creating: Bool = false) async throws -> (store: any AccountStore, domain: String, database: Task<Void, any Error>?) {
            var configuration = NodeConfiguration()
            if let config {
                do { configuration = try NodeConfiguration(contentsOf: config) } catch { throw CommandFailure("\(error)") }
            }
            let folder = data ?? configuration.data
            if configuration.store == "sqlite" || configuration.store == "memory" {
                if creating {
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                } else if !FileManager.default.fileExists(atPath: URL(fileURLWithPath: folder).appendingPathComponent("accounts.sqlite").path) {
                    throw CommandFailure("no accounts in \(folder) (give the registrar's --data or --config; edgeway users add creates them)")
                }
            }
            let stores = try RegistrarNode.openStores(configuration.store, data: URL(fileURLWithPath: folder), deadline: .seconds(30))
            if let shared = stores.shared, let cause = await shared.probe() {
                stores.database?.cancel()
                throw CommandFailure("the account store \(PostgresDatabase.redacted(configuration.store)) cannot be reached: \(cause) "
                                      + "(check store: in \(config ?? "the configuration"), and that PostgreSQL runs)")
            }
            return (stores.accounts, domain ?? configuration.domain, stores.database)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an account or change its password.")
        @Argument(help: "The user name (the user part of sip:USER@DOMAIN).") var user: String
        @Option(help: "The password.") var password: String
        @Option(help: "Add USER1 … USERN with the same password (for load tests), 1…100000.") var count: Int?
        @OptionGroup var location: Location

        func run() async throws {
            guard !user.isEmpty, !user.contains(where: { $0 == "@" || $0 == ":" || $0.isWhitespace }) else {
                throw CommandFailure("user must be a plain user name without @, : or spaces")
            }
            guard !password.isEmpty else { throw CommandFailure("--password must not be empty") }
            if let count, !(1...100_000).contains(count) { throw CommandFailure("--count must be 1…100000") }
            let (store, domain, database) = try await location.resolve(creating: true)
            defer { database?.cancel() }
            let names = count.map { count in (1...count).map { "\(user)\($0)" } } ?? [user]
            for name in names {
                try await store.save(DigestAuthenticator.account(username: name, realm: domain, password: password))
            }
            print(names.count == 1 ? "added sip:\(user)@\(domain)" : "added sip:\(names[0])@\(domain) … sip:\(names.last!)@\(domain)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts.")
        @OptionGroup var location: Location

        func run() async throws {
            let (store, _, database) = try await location.resolve()
            defer { database?.cancel() }
            for account in try await store.all() { print("sip:\(account.username)@\(account.realm)") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an account.")
        @Argument(help: "The user name.") var user: String
        @OptionGroup var location: Location

        func run() async throws {
            let (store, domain, database) = try await location.resolve()
            defer { database?.cancel() }
            guard try await store.remove(username: user, realm: domain) else {
                throw CommandFailure("no account sip:\(user)@\(domain)")
            }
            print("removed sip:\(user)@\(domain)")
        }
    }
}
