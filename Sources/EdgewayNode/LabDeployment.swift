import AdminWeb
import Foundation
import Location
import LocationSQLite
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Registrar
import Settings
import SIPStack
import SIPTransport

/// The whole MRA deployment on loopback (issue: the lab): a registrar, two cores and two edges,
/// each a real node with its own listeners, settings and admin API, sharing one generated CA; a
/// fault relay in front of each edge's phone port so an edge can be black-holed as well as killed.
/// The nodes run in this process, or each in its own `edgeway serve` process (``Options/executable``),
/// so that a kill is a real SIGKILL.
public final class LabDeployment: Sendable {
    /// Lab options; the defaults are the SPEC's timers.
    public struct Options: Sendable {
        /// The data folder (SQLite files, certificates); a second start reuses it.
        public var data = "./.edgeway-lab"
        /// The first port: registrar TCP at base, edges' phone TLS at base+1 and base+2, cores at
        /// base+10 and base+11, the lab's PostgreSQL at base+30, edges' own TLS at base+101/102,
        /// traversal at base+1941/1942.
        public var basePort = 15_060
        /// Time between keepalives (default 30 s) and to wait for an answer (3 s): cores to
        /// registrars, and the lab's phones.
        public var keepalive: Duration = .seconds(30)
        public var timeout: Duration = .seconds(3)
        /// Extra users `phone1` … `phoneN` (password `lab-phone`) for simulated phones.
        public var phoneUsers = 0
        /// The registrar's digest challenges, most preferred first. Default SHA-256 then MD5;
        /// `["MD5"]` for clients that fail on any SHA-256 challenge (baresip 1.0).
        public var digestAlgorithms = ["SHA-256", "MD5"]
        /// The `edgeway` executable to run each node as its own process; `nil` runs them here.
        public var executable: String?
        /// Registrars, 1…6: one is `registrar`; more are `registrar-1` … `registrar-N` sharing
        /// their bindings, at base, base+20, base+21, … (a cluster needs a PostgreSQL store).
        public var registrars = 1
        /// Where the registrars keep bindings and accounts: `sqlite` (each its own files),
        /// `postgres` (a PostgreSQL of the lab's own under `data/postgres`) or a `postgres://` URL.
        public var store = "sqlite"
        /// The URL the registrars use, once the lab's PostgreSQL runs (or `store` was a URL).
        var storeURL: String?

        /// The defaults.
        public init() {}
    }

    /// The demo users and their passwords.
    public static let demoUsers = [("alice", "alice-secret"), ("bob", "bob-secret"), ("carol", "carol-secret")]
    /// The password of the simulated phones' users.
    public static let phonePassword = "lab-phone"

    public let options: Options
    /// The CA phones must trust (PEM) and its file.
    public let caPEM: String
    public let caPath: String
    /// The running nodes by name; a killed node is absent until healed.
    let nodes: NIOLockedValueBox<[String: any LabNode]>
    /// The phone-facing addresses of the edges (their fault relays), `127.0.0.1:port`.
    public let edgeAddresses: [String]
    let relays: [FaultRelay]
    /// The lab's own PostgreSQL (`store: postgres`), stopped with the lab.
    let postgres: PostgresServer?

    /// The registrars' names: `registrar`, or `registrar-1` … `registrar-N` in a cluster.
    public var registrarNames: [String] { options.registrarNames }
    /// The node names: the registrars, `core-1`, `core-2`, `edge-1`, `edge-2`.
    public var nodeNames: [String] { registrarNames + ["core-1", "core-2", "edge-1", "edge-2"] }

    /// Starts every node and waits (up to 30 s) until the links are up.
    ///
    /// - Throws: ``NodeConfigurationError`` when a cluster is asked for without a shared store,
    ///   PostgreSQL cannot start, or a node cannot.
    public static func start(_ options: Options) async throws -> LabDeployment {
        guard (1...6).contains(options.registrars) else {
            throw NodeConfigurationError(path: "lab", key: "--registrars", problem: "a lab runs 1…6 registrars")
        }
        guard options.registrars == 1 || options.store != "sqlite" else {
            throw NodeConfigurationError(path: "lab", key: "--registrars", problem: "registrars share bindings only in PostgreSQL: add --store postgres")
        }
        var options = options
        let data = URL(fileURLWithPath: options.data)
        var postgres: PostgresServer?
        var nodes: [String: any LabNode] = [:]
        var relays: [FaultRelay] = []
        do {
            if options.store == "postgres" {
                postgres = try await PostgresServer.start(in: data.appendingPathComponent("postgres"), port: options.postgresPort)
                options.storeURL = postgres?.url
            } else if options.store != "sqlite" {
                options.storeURL = options.store
            }
            try await createUsers(options, data: data)
            try await createAdmins(options, data: data)
            return try await start(options, nodes: &nodes, relays: &relays, data: data, postgres: postgres)
        } catch {
            // Nothing started is left behind: nodes (processes too), relays and the database.
            for node in nodes.values { await node.shutdown() }
            for relay in relays { await relay.stop() }
            await postgres?.stop()
            guard ["the port is already in use", "Address already in use"].contains(where: "\(error)".contains) else { throw error }
            throw NodeConfigurationError(path: "lab", key: "--base-port", problem: "\(error); another lab or program holds the lab's ports "
                                         + "\(options.basePort)…\(options.basePort + 1_942): stop it, or start this lab with --base-port N")
        }
    }

    /// The demo users and `phone1` … `phoneN`, in the registrars' account store.
    private static func createUsers(_ options: Options, data: URL) async throws {
        let folder = data.appendingPathComponent(options.registrarNames[0])
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let stores = try RegistrarNode.openStores(options.storeURL ?? "sqlite", data: folder, deadline: .seconds(30))
        defer { stores.database?.cancel() }
        let users = demoUsers + (0..<options.phoneUsers).map { ("phone\($0 + 1)", phonePassword) }
        for (user, password) in users where try await stores.accounts.account(username: user, realm: "example.com") == nil {
            try await stores.accounts.save(DigestAuthenticator.account(username: user, realm: "example.com", password: password))
        }
    }

    /// The admin account `admin` on every node, with the lab's first password (made once and kept
    /// in `DATA/admin-password`, readable by its owner only); a node that has the account keeps it.
    private static func createAdmins(_ options: Options, data: URL) async throws {
        let file = data.appendingPathComponent("admin-password")
        let password: String
        if let saved = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !saved.isEmpty {
            password = saved
        } else {
            password = AdminPasswords.generate()
            try PrivateFile.write(password, to: file)
        }
        var hash: String?
        for name in options.registrarNames + ["core-1", "core-2", "edge-1", "edge-2"] {
            let configuration = configuration(for: name, options)
            try FileManager.default.createDirectory(atPath: configuration.data, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let accounts = try NodeResources.accounts(configuration)
            guard try accounts.passwordHash(of: labAdmin) == nil else { continue }
            if hash == nil { hash = try await AdminPasswords.hash(password) }
            try accounts.save(name: labAdmin, passwordHash: hash!, replacing: false)
        }
    }

    /// The lab's admin account on every node.
    public static let labAdmin = "admin"

    /// The lab admin's first password, from `DATA/admin-password`.
    public var adminPassword: String? {
        try? String(contentsOf: URL(fileURLWithPath: options.data).appendingPathComponent("admin-password"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The bindings the registrars keep, for reports; cancel the task when done (PostgreSQL).
    func openLocations() throws -> (store: any LocationStore, database: Task<Void, any Error>?) {
        let folder = URL(fileURLWithPath: options.data).appendingPathComponent(registrarNames[0])
        let stores = try RegistrarNode.openStores(options.storeURL ?? "sqlite", data: folder, deadline: .seconds(30))
        return (stores.locations, stores.database)
    }

    private static func start(_ options: Options, nodes: inout [String: any LabNode], relays: inout [FaultRelay],
                              data: URL, postgres: PostgresServer?) async throws -> LabDeployment {
        let base = options.basePort
        for index in 1...2 {
            let edge = try await launch("edge-\(index)", options)
            nodes["edge-\(index)"] = edge
            let phonePort = try SocketAddress(ipAddress: "127.0.0.1", port: base + 100 + index)
            relays.append(try await FaultRelay.start(to: phonePort, port: base + index))
        }
        for name in options.registrarNames {
            nodes[name] = try await launch(name, options)
        }
        for index in 1...2 {
            let name = "core-\(index)"
            try FileManager.default.createDirectory(at: data.appendingPathComponent(name), withIntermediateDirectories: true)
            let settings = try Settings(store: SQLiteSettingsStore(path: data.appendingPathComponent("\(name)/settings.sqlite").path))
            _ = try settings.set(.stunKeepAliveInterval, to: String(options.keepalive.wholeMilliseconds))
            _ = try settings.set(.stunKeepAliveTimeout, to: String(options.timeout.wholeMilliseconds))
            nodes[name] = try await launch(name, options)
        }
        let caPath = data.appendingPathComponent("tls/ca.pem").path
        let lab = LabDeployment(options: options, caPEM: try String(contentsOfFile: caPath, encoding: .utf8), caPath: caPath,
                                nodes: nodes, edgeAddresses: relays.map { "127.0.0.1:\($0.address.port!)" }, relays: relays,
                                postgres: postgres)
        do {
            try await lab.waitUntilLinked()
        } catch {
            await lab.shutdown()
            nodes = [:]
            relays = []
            throw error
        }
        return lab
    }

    /// Starts a node here or as a process, as the options say.
    static func launch(_ name: String, _ options: Options) async throws -> any LabNode {
        let configuration = configuration(for: name, options)
        let role = String(name.prefix { $0 != "-" })
        if let executable = options.executable {
            return try await NodeProcess.launch(executable: executable, role: role, configuration: configuration)
        }
        let group = MultiThreadedEventLoopGroup.singleton
        switch role {
        case "registrar": return try await RegistrarNode(configuration: configuration, group: group)
        case "core": return try await CoreNode(configuration: configuration, group: group)
        default: return try await EdgeNode(configuration: configuration, group: group)
        }
    }

    private init(options: Options, caPEM: String, caPath: String, nodes: [String: any LabNode], edgeAddresses: [String],
                 relays: [FaultRelay], postgres: PostgresServer?) {
        self.postgres = postgres
        self.options = options
        self.caPEM = caPEM
        self.caPath = caPath
        self.nodes = NIOLockedValueBox(nodes)
        self.edgeAddresses = edgeAddresses
        self.relays = relays
    }

    /// A node's configuration in the lab.
    static func configuration(for name: String, _ options: Options) -> NodeConfiguration {
        let base = options.basePort
        var configuration = NodeConfiguration()
        configuration.name = name
        configuration.data = URL(fileURLWithPath: options.data).appendingPathComponent(name).path
        configuration.certificates = URL(fileURLWithPath: options.data).appendingPathComponent("tls").path
        configuration.heartbeatInterval = min(.seconds(5), max(.milliseconds(200), options.keepalive))
        switch name {
        case _ where name.hasPrefix("registrar"):
            configuration.listen = ["tcp": "127.0.0.1:\(options.registrarPort(name))"]
            configuration.digestAlgorithms = options.digestAlgorithms
            configuration.store = options.storeURL ?? "sqlite"
        case "core-1", "core-2":
            let index = name == "core-1" ? 0 : 1
            configuration.listen = ["tcp": "127.0.0.1:\(base + 10 + index)"]
            configuration.edges = ["127.0.0.1:\(base + 1_941)", "127.0.0.1:\(base + 1_942)"]
            configuration.registrars = options.registrarNames.map { "\($0)=127.0.0.1:\(options.registrarPort($0))" }
            configuration.registrarsShareBindings = options.registrars > 1
        default:
            let index = name == "edge-1" ? 1 : 2
            configuration.listen = ["tls": "127.0.0.1:\(base + 100 + index)"]
            configuration.traversal = "127.0.0.1:\(base + 1_940 + index)"
            configuration.maxConnectionsPerSource = 100_000
        }
        return configuration
    }

    /// Waits (up to 30 s) until both cores have both links up and reach the registrar.
    func waitUntilLinked() async throws {
        let running = nodes.withLockedValue { $0 }
        let deadline = ContinuousClock.now + .seconds(30)
        for name in ["core-1", "core-2"] {
            guard let core = running[name] else { continue }
            if !(await core.linked(within: max(.zero, deadline - ContinuousClock.now))) {
                throw NodeConfigurationError(path: options.data, key: nil, problem: "the lab's links did not come up within 30 s")
            }
        }
    }

    /// The endpoints an operator needs: name, role, address.
    public var endpoints: [(name: String, what: String, address: String)] {
        let running = nodes.withLockedValue { $0 }
        var rows: [(String, String, String)] = []
        for name in registrarNames {
            rows.append((name, "SIP tcp", "127.0.0.1:\(options.registrarPort(name))"))
            if let admin = running[name]?.adminURL { rows.append((name, "admin", admin)) }
            if let web = running[name]?.webURL { rows.append((name, "web", web)) }
        }
        if let postgres { rows.append(("postgres", "store", postgres.url)) }
        for name in ["core-1", "core-2"] {
            if let admin = running[name]?.adminURL { rows.append((name, "admin", admin)) }
            if let web = running[name]?.webURL { rows.append((name, "web", web)) }
        }
        for (index, name) in ["edge-1", "edge-2"].enumerated() {
            rows.append((name, "phones SIP tls", edgeAddresses[index]))
            if let admin = running[name]?.adminURL { rows.append((name, "admin", admin)) }
            if let web = running[name]?.webURL { rows.append((name, "web", web)) }
        }
        return rows
    }

    /// How a fault is injected.
    public enum FaultMode: String, Sendable, CaseIterable {
        /// The node stops: its listeners and connections close.
        case kill
        /// The edge keeps its connections open and passes nothing (edges only).
        case blackhole
    }

    /// Injects a fault into a node.
    public func fail(_ node: String, mode: FaultMode) async throws {
        guard nodeNames.contains(node) else {
            throw NodeConfigurationError(path: "lab", key: node, problem: "unknown node; allowed: \(nodeNames.joined(separator: ", "))")
        }
        switch mode {
        case .blackhole:
            guard let index = ["edge-1", "edge-2"].firstIndex(of: node) else {
                throw NodeConfigurationError(path: "lab", key: node, problem: "blackhole (and pause) apply to edges only; allowed: edge-1, edge-2")
            }
            relays[index].blackhole()
        case .kill:
            let running = nodes.withLockedValue { $0.removeValue(forKey: node) }
            await running?.kill()
        }
    }

    /// Heals a node: restarts it when it was killed, lets bytes pass again when black-holed.
    ///
    /// - Throws: ``NodeConfigurationError`` naming the allowed nodes when `node` is not one.
    public func heal(_ node: String) async throws {
        guard nodeNames.contains(node) else {
            throw NodeConfigurationError(path: "lab", key: node, problem: "unknown node; allowed: \(nodeNames.joined(separator: ", "))")
        }
        if let index = ["edge-1", "edge-2"].firstIndex(of: node) { relays[index].heal() }
        guard nodes.withLockedValue({ $0[node] == nil }) else { return }
        let restarted = try await Self.launch(node, options)
        nodes.withLockedValue { $0[node] = restarted }
    }

    /// Drains every running node (``EdgeNode/drain(within:)``); `true` when all finished in time.
    public func drain(within limit: Duration) async -> Bool {
        let running = nodes.withLockedValue { $0 }
        // All at once, so the whole lab takes at most `limit`.
        return await withTaskGroup(of: Bool.self) { group in
            for node in running.values { group.addTask { await node.drain(within: limit) } }
            return await group.reduce(true) { $0 && $1 }
        }
    }

    /// Stops every node and relay.
    public func shutdown() async {
        let running = nodes.withLockedValue { nodes in defer { nodes = [:] }; return nodes }
        for name in ["core-1", "core-2", "edge-1", "edge-2"] + registrarNames { await running[name]?.shutdown() }
        for relay in relays { await relay.stop() }
        await postgres?.stop()
    }
}

extension LabDeployment.Options {
    /// The registrars' names: `registrar`, or `registrar-1` … `registrar-N` in a cluster.
    var registrarNames: [String] {
        registrars == 1 ? ["registrar"] : (1...registrars).map { "registrar-\($0)" }
    }

    /// The lab's own PostgreSQL (`--store postgres`): base+30, inside the lab's range and below
    /// the ephemeral ports, so no outgoing connection takes it between its choice and its bind.
    var postgresPort: Int { basePort + 30 }

    /// A registrar's SIP TCP port: base for the first, base+20 onwards for the others.
    func registrarPort(_ name: String) -> Int {
        let index = registrarNames.firstIndex(of: name) ?? 0
        return index == 0 ? basePort : basePort + 19 + index
    }
}
