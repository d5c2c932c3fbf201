import EdgewayNode
import Foundation
import Location
import LocationSQLite
import NIOCore
import NIOPosix
import Registrar
import Settings
import SIPTransport
import TestSupport
import Testing
import SIPCore

/// A registrar, cores and edges on 127.0.0.1 with short timers, each a real node with its own
/// listeners, data folder and admin API; one lab CA shared by all. For the MRA path tests.
final class MRADeployment: Sendable {
    let folder: URL
    private let registrarNode: LockedBox<RegistrarNode?>
    private let registrarConfiguration: NodeConfiguration
    let cores: [CoreNode]
    let edges: [EdgeNode]
    let caPEM: String

    /// Heartbeat and keepalive timers (keepalives in milliseconds, as the settings take them), short for tests. The intervals are short
    /// so changes show fast; the timeouts leave room for a machine loaded by parallel tests (the
    /// tests here detect failures by closed connections, not by timeouts).
    struct Timers {
        var heartbeat: Duration = .milliseconds(200)
        var linkTimeout: Duration = .seconds(3)
        var keepaliveInterval = 200
        var keepaliveTimeout = 2_000
    }

    /// Starts `edges` edges, a registrar with alice, bob and carol, and `cores` cores, each
    /// linked to every edge. Core settings may be preset (e.g. Path mode).
    static func start(cores coreCount: Int = 1, edges edgeCount: Int = 1, timers: Timers = .init(),
                      coreSettings: [(SettingPath, String)] = [], edgeSettings: [(SettingPath, String)] = [],
                      loadUsers: Int = 0, minExpires: Int64 = 60,
                      edgeConfiguration: (inout NodeConfiguration) -> Void = { _ in }) async throws -> MRADeployment {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-mra-\(UUID().uuidString)")
        let certificates = folder.appendingPathComponent("tls").path
        let group = MultiThreadedEventLoopGroup.singleton
        func base(_ name: String) -> NodeConfiguration {
            var configuration = NodeConfiguration()
            configuration.name = name
            configuration.data = folder.appendingPathComponent(name).path
            configuration.certificates = certificates
            configuration.store = "memory"
            configuration.heartbeatInterval = timers.heartbeat
            configuration.linkTimeout = timers.linkTimeout
            return configuration
        }
        func preset(_ name: String, _ values: [(SettingPath, String)]) throws {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(name), withIntermediateDirectories: true)
            let settings = try Settings(store: SQLiteSettingsStore(path: folder.appendingPathComponent("\(name)/settings.sqlite").path))
            for (path, value) in values { _ = try settings.set(path, to: value) }
        }
        var edges: [EdgeNode] = []
        for index in 1...edgeCount {
            var configuration = base("edge-\(index)")
            configuration.traversal = "127.0.0.1:0"
            configuration.listen = ["tls": "127.0.0.1:0", "udp": "127.0.0.1:0"]
            edgeConfiguration(&configuration)
            try preset("edge-\(index)", edgeSettings)
            edges.append(try await EdgeNode(configuration: configuration, group: group))
        }
        var registrarConfiguration = base("registrar")
        registrarConfiguration.listen = ["tcp": "127.0.0.1:0"]
        registrarConfiguration.minExpires = minExpires
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("registrar"), withIntermediateDirectories: true)
        let accounts = try SQLiteAccountStore(path: folder.appendingPathComponent("registrar/accounts.sqlite").path)
        for user in ["alice", "bob", "carol"] + (0..<loadUsers).map({ "load\($0 + 1)" }) {
            try await accounts.save(DigestAuthenticator.account(username: user, realm: "example.com", password: user.hasPrefix("load") ? "pw-load" : "pw-\(user)"))
        }
        let registrar = try await RegistrarNode(configuration: registrarConfiguration, group: group)
        registrarConfiguration.listen = ["tcp": "127.0.0.1:\(registrar.boundAddresses[.tcp]!.port!)"]
        var cores: [CoreNode] = []
        for index in 1...coreCount {
            var configuration = base("core-\(index)")
            configuration.listen = ["tcp": "127.0.0.1:0"]
            configuration.edges = edges.map { "127.0.0.1:\($0.traversalAddress.port!)" }
            configuration.registrars = ["registrar-1=127.0.0.1:\(registrar.boundAddresses[.tcp]!.port!)"]
            try preset("core-\(index)", [(.stunKeepAliveInterval, String(timers.keepaliveInterval)),
                                         (.stunKeepAliveTimeout, String(timers.keepaliveTimeout))] + coreSettings)
            cores.append(try await CoreNode(configuration: configuration, group: group))
        }
        let ca = try String(contentsOfFile: "\(certificates)/ca.pem", encoding: .utf8)
        let deployment = MRADeployment(folder: folder, registrar: registrar, registrarConfiguration: registrarConfiguration,
                                       cores: cores, edges: edges, caPEM: ca)
        try await deployment.waitUntilLinked()
        return deployment
    }

    private init(folder: URL, registrar: RegistrarNode, registrarConfiguration: NodeConfiguration, cores: [CoreNode],
                 edges: [EdgeNode], caPEM: String) {
        self.folder = folder
        self.registrarNode = LockedBox(registrar)
        self.registrarConfiguration = registrarConfiguration
        self.cores = cores
        self.edges = edges
        self.caPEM = caPEM
    }

    /// Waits (at most 10 s) until every link is up and every core reaches its registrar.
    func waitUntilLinked() async throws {
        try await eventually("every link up and the registrar reachable") {
            for core in cores {
                let status = await core.service.status
                if status.contains(where: { $0.path.hasSuffix(" State") && $0.value != "Up" && $0.value != "Reachable" }) { return false }
            }
            for edge in edges {
                let status = await edge.service.status
                guard status.filter({ $0.path.hasSuffix(" State") && $0.value == "Up" }).count == cores.count,
                      status.filter({ $0.path.contains(" Registrar ") && $0.value == "Reachable" }).count == cores.count
                else { return false }
            }
            return true
        }
    }

    /// The registrar's bindings for a user.
    func bindings(of user: String) async throws -> [Binding] {
        try await registrarNode.read { $0 }?.locations.bindings(for: "sip:\(user)@example.com") ?? []
    }

    /// Stops the registrar, as a killed process would: its listener and connections close.
    func stopRegistrar() async {
        let node = registrarNode.read { $0 }
        registrarNode.mutate { $0 = nil }
        await node?.shutdown()
    }

    /// Starts the registrar again on the same port and data.
    func restartRegistrar() async throws {
        let node = try await RegistrarNode(configuration: registrarConfiguration, group: MultiThreadedEventLoopGroup.singleton)
        registrarNode.mutate { $0 = node }
    }

    /// Runs the `edgeway` CLI (`xstatus`, `xconfiguration`, `xcommand`) against a node's admin API.
    func cli(_ command: String, _ words: String, node: String) async throws -> (status: Int32, output: String) {
        let data = folder.appendingPathComponent(node)
        let url = try String(contentsOf: data.appendingPathComponent("admin.url"), encoding: .utf8)
        let token = try String(contentsOf: data.appendingPathComponent("admin-token"), encoding: .utf8)
        return try await EdgewayProcess.run([command] + words.split(separator: " ").map(String.init) + ["--admin", url, "--token", token])
    }

    /// The edge's phone-facing TLS address.
    func edgeAddress(_ index: Int = 0) -> SocketAddress {
        edges[index].boundAddresses[.tls]!
    }

    /// Stops every node and removes the data.
    func shutdown() async {
        for core in cores { await core.shutdown() }
        for edge in edges { await edge.shutdown() }
        await stopRegistrar()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// Expects a 2xx and shows the status line otherwise.
func expectOK(_ response: SIPMessage, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let line = response.statusLine
    #expect((200..<300).contains(line?.statusCode ?? 0), "got \(line.map { "\($0.statusCode) \($0.reasonPhrase)" } ?? "a request")",
            sourceLocation: sourceLocation)
}
