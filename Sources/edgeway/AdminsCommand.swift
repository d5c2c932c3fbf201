import AdminWeb
import ArgumentParser
import EdgewayNode
import Foundation
import Settings

/// `edgeway admins add|password|list|remove`: the web UI's admin accounts of a node, bcrypt hashes
/// in its data folder (`admins.sqlite`; SPEC B23). A running node reads them at each login.
struct AdminsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admins",
        abstract: "Manage a node's web UI admin accounts (bcrypt hashes in DATA/admins.sqlite).",
        subcommands: [Add.self, Password.self, List.self, Remove.self]
    )

    /// The node's data folder, from `--config` or `--data`.
    struct Node: ParsableArguments {
        @Option(help: "The node's YAML configuration (its data folder is used).") var config: String?
        @Option(help: "The node's data folder, e.g. ./.edgeway-lab/edge-1 (default ./edgeway-data).") var data: String?

        func store(creating: Bool) throws -> AdminAccountStore {
            var configuration = NodeConfiguration()
            if let config {
                do { configuration = try NodeConfiguration(contentsOf: config) } catch { throw CommandFailure("\(error)") }
            }
            if let data { configuration.data = data }
            if creating {
                try FileManager.default.createDirectory(atPath: configuration.data, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } else if !FileManager.default.fileExists(atPath: URL(fileURLWithPath: configuration.data).appendingPathComponent("admins.sqlite").path) {
                throw CommandFailure("no admin accounts in \(configuration.data) (give the node's --data or --config; edgeway admins add creates them)")
            }
            return try NodeResources.accounts(configuration)
        }
    }

    /// The password from standard input (first line) with `--password-stdin`, else a new one printed.
    struct PasswordSource: ParsableArguments {
        @Flag(help: "Read the password from standard input's first line instead of making one.") var passwordStdin = false

        func password() throws -> (text: String, made: Bool) {
            guard passwordStdin else { return (AdminPasswords.generate(), true) }
            guard let line = readLine(strippingNewline: true), line.count >= 12 else {
                throw CommandFailure("--password-stdin: give a password of 12 characters or more on standard input")
            }
            return (line, false)
        }
    }

    /// Adds `name` (refused when it exists) or gives it a new password (refused when it does not),
    /// and prints the password made, if one was.
    static func setPassword(of name: String, source: PasswordSource, store: AdminAccountStore, adding: Bool) async throws {
        guard AdminAccountStore.isValidName(name) else { throw CommandFailure("\(name) is not an admin name: use 1…64 letters, digits, '.', '-' or '_'") }
        let exists = try store.passwordHash(of: name) != nil
        if adding, exists { throw CommandFailure("admin \(name) exists already (edgeway admins password \(name) changes its password)") }
        if !adding, !exists { throw CommandFailure("no admin \(name); admins: \((try store.names()).joined(separator: ", "))") }
        let password = try source.password()
        try store.save(name: name, passwordHash: try await AdminPasswords.hash(password.text), replacing: !adding)
        switch (adding, password.made) {
        case (true, true): print("added admin \(name); first password: \(password.text)")
        case (true, false): print("added admin \(name)")
        case (false, true): print("new password of \(name): \(password.text)")
        case (false, false): print("password of \(name) changed")
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an admin; prints the first password unless given on standard input.")
        @Argument(help: "The admin's name: letters, digits, '.', '-' or '_'.") var name: String
        @OptionGroup var source: PasswordSource
        @OptionGroup var node: Node

        func run() async throws {
            try await AdminsCommand.setPassword(of: name, source: source, store: try node.store(creating: true), adding: true)
        }
    }

    struct Password: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give an admin a new password (printed unless given on standard input).")
        @Argument(help: "The admin's name.") var name: String
        @OptionGroup var source: PasswordSource
        @OptionGroup var node: Node

        func run() async throws {
            try await AdminsCommand.setPassword(of: name, source: source, store: try node.store(creating: false), adding: false)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the admins.")
        @OptionGroup var node: Node

        func run() async throws {
            for name in try node.store(creating: false).names() { print(name) }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an admin.")
        @Argument(help: "The admin's name.") var name: String
        @OptionGroup var node: Node

        func run() async throws {
            guard try node.store(creating: false).remove(name: name) else { throw CommandFailure("no admin \(name)") }
            print("removed admin \(name)")
        }
    }
}
