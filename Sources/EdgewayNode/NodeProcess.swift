import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
import SIPStack
import SystemPackage
import Yams

/// A lab node as its own `edgeway serve` process (`edgeway lab --processes`), so a kill fault is
/// a real SIGKILL. Its configuration is written to `DATA/NAME/node.yaml` and its standard output
/// and error go to `DATA/NAME/node.log`.
public final class NodeProcess: LabNode, Sendable {
    let name: String
    let adminURL: String?
    /// The node's web UI, from its `web.url`.
    let webURL: String?
    private let process: ChildProcess
    private let token: String?

    private init(name: String, process: ChildProcess, adminURL: String?, webURL: String?, token: String?) {
        self.webURL = webURL
        self.name = name
        self.process = process
        self.adminURL = adminURL
        self.token = token
    }

    /// Starts `edgeway serve --role ROLE` from `executable` and waits (at most 30 s) for its ready line.
    ///
    /// - Throws: ``NodeConfigurationError`` naming the node and quoting the end of its log when
    ///   it exits or does not get ready.
    static func launch(executable: String, role: String, configuration: NodeConfiguration) async throws -> NodeProcess {
        let name = configuration.name ?? role
        let folder = URL(fileURLWithPath: configuration.data)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let configPath = folder.appendingPathComponent("node.yaml")
        try yaml(configuration).write(to: configPath, atomically: true, encoding: .utf8)
        let logPath = folder.appendingPathComponent("node.log")
        let log = try FileDescriptor.open(logPath.path, .writeOnly, options: [.append, .create], permissions: .ownerReadWrite)
        defer { try? log.close() }
        let start = try log.seek(offset: 0, from: .end)
        // The node stops by itself when the lab is gone, however the lab ended (`edgeway serve`
        // watches this parent).
        let process = try await ChildProcess.start(executable, ["serve", "--role", role, "--config", configPath.path],
                                                   environment: [parentVariable: "\(getpid())"], output: log)
        do {
            return try await ready(process, name: name, log: logPath, from: Int(start), folder: folder)
        } catch {
            process.send(SIGKILL)
            throw error
        }
    }

    /// The environment variable that names the lab's process id to a node it started.
    public static let parentVariable = "EDGEWAY_PARENT_PID"

    /// Waits for the ready line in the node's log; throws when the node exits or takes 30 s.
    private static func ready(_ process: ChildProcess, name: String, log logPath: URL, from start: Int, folder: URL) async throws -> NodeProcess {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let text = (try? Data(contentsOf: logPath)).map { String(decoding: $0.dropFirst(start), as: UTF8.self) } ?? ""
            if let ready = text.split(separator: "\n").first(where: { $0.contains(" ready: ") }) {
                let admin = ready.range(of: "admin http://").map { range in
                    "http://" + ready[range.upperBound...].prefix { $0 != ";" && $0 != " " }
                }
                let token = try? String(contentsOf: folder.appendingPathComponent("admin-token"), encoding: .utf8)
                let web = try? String(contentsOf: folder.appendingPathComponent("web.url"), encoding: .utf8)
                return NodeProcess(name: name, process: process, adminURL: admin, webURL: web, token: token)
            }
            guard process.isRunning else {
                throw NodeConfigurationError(path: logPath.path, key: name, problem: "exited with status \(process.exitStatus ?? 0): "
                                             + text.split(separator: "\n").suffix(3).joined(separator: " | "))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw NodeConfigurationError(path: logPath.path, key: name, problem: "not ready within 30 s")
    }

    /// The process id.
    var pid: Int32 { process.pid }

    func linked(within limit: Duration) async -> Bool {
        guard name.hasPrefix("core") else { return true }
        let deadline = ContinuousClock.now + limit
        repeat {
            if let lines = try? await status() {
                let states = lines.filter { ($0.hasPrefix("*s Links ") || $0.hasPrefix("*s Registrars ")) && $0.contains(" State: ") }
                if !states.isEmpty, states.allSatisfy({ $0.hasSuffix(": Up") || $0.hasSuffix(": Reachable") }) { return true }
            }
            try? await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        return false
    }

    func drain(within limit: Duration) async -> Bool {
        process.send(SIGTERM)
        return await process.exited(within: limit + .seconds(5)) && process.exitStatus == 0
    }

    func shutdown() async {
        if process.isRunning {
            process.send(SIGTERM)
            if await process.exited(within: .seconds(15)) { return }
        }
        await kill()
    }

    func kill() async {
        process.send(SIGKILL)
        _ = await process.exited(within: .seconds(10))
    }

    /// `xstatus` lines from the node's admin API.
    private func status() async throws -> [String] {
        guard let adminURL, let token, let url = URL(string: "\(adminURL)/api/xstatus") else { return [] }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("Bearer \(token.trimmingCharacters(in: .whitespacesAndNewlines))", forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 2
        let (body, _) = try await URLSession.shared.data(for: request)
        return String(decoding: body, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The keys of `configuration` the lab sets, as YAML the node reads back.
    static func yaml(_ configuration: NodeConfiguration) throws -> String {
        var keys: [String: Any] = [
            // Absolute: a relative path in the file would follow the file's folder, not the lab's.
            "name": configuration.name ?? "", "data": absolute(configuration.data), "certificates": absolute(configuration.certificates ?? ""),
            "listen": configuration.listen, "heartbeatInterval": Int(configuration.heartbeatInterval.wholeMilliseconds),
            "linkTimeout": Int(configuration.linkTimeout.wholeMilliseconds), "digestAlgorithms": configuration.digestAlgorithms,
            "maxConnectionsPerSource": configuration.maxConnectionsPerSource, "traversal": configuration.traversal,
            "store": configuration.store, "registrarsShareBindings": configuration.registrarsShareBindings,
        ]
        if !configuration.edges.isEmpty { keys["edges"] = configuration.edges }
        if !configuration.registrars.isEmpty { keys["registrars"] = configuration.registrars }
        let role = String((configuration.name ?? "").prefix { $0 != "-" })
        return try Yams.dump(object: keys.filter { NodeConfiguration.keys(forRole: role).contains($0.key) }, sortKeys: true)
    }

    private static func absolute(_ path: String) -> String {
        path.isEmpty ? path : URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
