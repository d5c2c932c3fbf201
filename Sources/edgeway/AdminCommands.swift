import ArgumentParser
import EdgewayNode
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where a running node's admin API is and how to authorise: from its configuration file (the
/// node writes the URL and token to its data folder) or given outright.
struct AdminTarget: ParsableArguments {
    @Option(help: "The node's YAML configuration: its data folder holds the admin URL and token.")
    var config: String?

    @Option(help: "The node's data folder (holds admin.url and admin-token), e.g. ./.edgeway-lab/edge-1.")
    var data: String?

    @Option(help: "The admin API URL, e.g. http://127.0.0.1:8081 (instead of --config or --data).")
    var admin: String?

    @Option(help: "The admin token (else EDGEWAY_ADMIN_TOKEN, else the node's data folder).")
    var token: String?

    /// Posts `text` to `/api/ENDPOINT` and prints the answer; a refused command exits 1 with its reason.
    func post(_ endpoint: String, _ text: String) async throws {
        let (base, token) = try resolve()
        guard let endpointURL = URL(string: "\(base)/api/\(endpoint)") else { throw CommandFailure("\(base) is not a URL") }
        try await Self.send(endpointURL, base: base, token: token, text: text)
    }

    /// Fetches `GET /api/PATH` and returns the body; an error answer exits 1 with its text.
    func get(_ path: String) async throws -> Data {
        let (base, token) = try resolve()
        guard let url = URL(string: "\(base)/api/\(path)") else { throw CommandFailure("\(base) is not a URL") }
        let (body, status) = try await Self.fetch(url, base: base, token: token, post: nil)
        guard status == 200 else {
            throw CommandFailure(String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return body
    }

    /// GETs `url` (or POSTs `post`) with the token: the body and the status.
    private static func fetch(_ url: URL, base: String, token: String, post: String?) async throws -> (Data, Int) {
        var request = URLRequest(url: url)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let post {
            request.httpMethod = "POST"
            request.httpBody = Data(post.utf8)
        }
        // Collecting a cluster's diagnostic logs may take a while (each hop waits up to 300 s).
        request.timeoutInterval = 330
        do {
            let (body, response) = try await URLSession.shared.data(for: request)
            return (body, (response as? HTTPURLResponse)?.statusCode ?? 0)
        } catch {
            throw CommandFailure("cannot reach the admin API at \(base): \(error.localizedDescription)")
        }
    }

    /// The admin API's base URL and the token, from the options, the environment or the node's files.
    private func resolve() throws -> (base: String, token: String) {
        var url = admin
        var token = token ?? ProcessInfo.processInfo.environment["EDGEWAY_ADMIN_TOKEN"]
        var folder = data.map { URL(fileURLWithPath: $0) }
        if let config {
            let configuration: NodeConfiguration
            do {
                configuration = try NodeConfiguration(contentsOf: config)
            } catch let error as NodeConfigurationError {
                throw CommandFailure(error.description)
            }
            folder = URL(fileURLWithPath: configuration.data)
            token = token ?? configuration.adminToken
        }
        if let folder {
            url = url ?? (try? String(contentsOf: folder.appendingPathComponent("admin.url"), encoding: .utf8))
            token = token ?? (try? String(contentsOf: folder.appendingPathComponent("admin-token"), encoding: .utf8))
        }
        guard let base = url?.trimmingCharacters(in: .whitespacesAndNewlines), !base.isEmpty else {
            throw CommandFailure("give --config FILE or --data DIR of a running node, or --admin URL")
        }
        guard let token = token?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            throw CommandFailure("no admin token: give --token, set EDGEWAY_ADMIN_TOKEN, or --config FILE of the node")
        }
        return (base, token)
    }

    /// Posts `text` to an admin API endpoint and prints the answer; a refusal exits 1.
    static func send(_ endpointURL: URL, base: String, token: String, text: String) async throws {
        let (body, status) = try await fetch(endpointURL, base: base, token: token, post: text)
        let answer = String(decoding: body, as: UTF8.self)
        guard status == 200 else {
            FileHandle.standardError.write(Data(answer.utf8))
            throw ExitCode(1)
        }
        FileHandle.standardOutput.write(Data(answer.utf8))
        // A command that reached every node but failed on some (a node down during Stop, say)
        // prints each node's answer and exits 1, for scripts.
        if answer.contains("(status=Error)") { throw ExitCode(1) }
    }
}

/// `edgeway xconfiguration PATH[: VALUE]` (SPEC B22).
struct XConfigurationCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xconfiguration",
        abstract: "Read or change a setting of a running node.",
        discussion: """
            edgeway xconfiguration SIP Advanced StunKeepAliveForRegisteredPathEnabled: Off --config edge.yaml
            edgeway xconfiguration SIP Advanced --config edge.yaml
            Paths and values are case-insensitive; an error names the path and the allowed values.
            """
    )

    @Argument(help: "The setting path, and after a colon the new value.")
    var words: [String]

    @OptionGroup var target: AdminTarget

    func run() async throws {
        try await target.post("xconfiguration", words.joined(separator: " "))
    }
}

/// `edgeway xstatus [PATH]` (SPEC B22).
struct XStatusCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xstatus",
        abstract: "Show the status of a running node: registrations, calls, flows, links, keepalives, alarms, security.",
        discussion: """
            edgeway xstatus registrations --user alice --data ./.edgeway-lab/edge-1
            edgeway xstatus calls --data ./.edgeway-lab/registrar
            Every role (registrar, core, edge) lists its registrations and the calls through it.
            """
    )

    @Argument(help: "A status path (e.g. Registrations, Calls, Alarms, Links Link 1, Security); everything when omitted.")
    var words: [String] = []

    @Option(help: "With the path Registrations: only this user's (alice, alice@example.com or sip:alice@example.com).")
    var user: String?

    @OptionGroup var target: AdminTarget

    func run() async throws {
        guard let user else { return try await target.post("xstatus", words.joined(separator: " ")) }
        guard words.map({ $0.lowercased() }) == ["registrations"] else {
            throw CommandFailure("--user goes with the path Registrations: edgeway xstatus registrations --user \(user)")
        }
        try await target.post("xstatus", "Registrations User: \(user)")
    }
}

/// `edgeway xcommand NAME` (SPEC B22).
struct XCommandCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xcommand",
        abstract: "Run a command on a running node (e.g. Links Refresh, Registrars Probe, Security Unblock Address: 192.0.2.7).",
        discussion: """
            Diagnostic logging, for the whole cluster from any node (SPEC B25):
              edgeway xcommand DiagnosticLogging Start TakeTcpdump: On --data .edgeway-lab/edge-1
              edgeway xcommand DiagnosticLogging Marker Text: "phone registers now" --data …
              edgeway xcommand DiagnosticLogging Stop --data …
              edgeway xcommand DiagnosticLogging Collect --data …
              edgeway xcommand DiagnosticLogging Download --output bundle.tar.gz --data …
            """
    )

    @Argument(help: "The command name and its arguments.")
    var words: [String]

    @Option(help: "With DiagnosticLogging Download: the file to write (default: edgeway-diagnostics.tar.gz, here).")
    var output: String?

    @OptionGroup var target: AdminTarget

    func run() async throws {
        guard words.map({ $0.lowercased() }) == ["diagnosticlogging", "download"] else {
            if output != nil { throw CommandFailure("--output goes with DiagnosticLogging Download") }
            return try await target.post("xcommand", words.joined(separator: " "))
        }
        let bundle = try await target.get("diagnostics/bundle")
        let path = output ?? "edgeway-diagnostics.tar.gz"
        do {
            try bundle.write(to: URL(fileURLWithPath: path))
        } catch {
            var folder: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &folder)
            let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
            throw CommandFailure("cannot write \(path): " + (exists && folder.boolValue ? "it is a folder; give a file name"
                : !FileManager.default.fileExists(atPath: parent) ? "no folder \(parent)" : error.localizedDescription))
        }
        print("*r DiagnosticLoggingDownloadResult (status=OK): \(path) (\(bundle.count) bytes)")
        print("** end")
    }
}
