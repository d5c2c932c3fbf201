import Diagnostics
import Foundation
import SIPTransport
import Yams

/// A node's configuration file (YAML). Every key is optional and has the default shown in
/// `docs/registrar.yaml`; unknown keys are errors that name the key.
public struct NodeConfiguration: Sendable, Equatable {
    /// The SIP domain served (digest realm). Default `example.com`.
    public var domain = "example.com"
    /// The data folder for SQLite files and generated certificates. Default `./edgeway-data`.
    public var data = "./edgeway-data"
    /// Listening addresses per transport, `host:port`. Default UDP and TCP on 127.0.0.1:5060, TLS on 127.0.0.1:5061.
    public var listen: [String: String] = ["udp": "127.0.0.1:5060", "tcp": "127.0.0.1:5060", "tls": "127.0.0.1:5061"]
    /// PEM certificate chain and key for TLS; without them a lab CA and certificate are generated under `data/tls`.
    public var tlsCertificate: String?
    /// The key for `tlsCertificate`.
    public var tlsKey: String?
    /// Registration expiry default, minimum and maximum, in seconds (120, 60, 3600).
    public var defaultExpires: Int64 = 120
    public var minExpires: Int64 = 60
    public var maxExpires: Int64 = 3_600
    /// Registrar: where bindings and accounts live (YAML `store`, formerly `location`): `sqlite`
    /// (default; files in the data folder, survive restarts), `memory` (bindings lost on restart,
    /// like an in-memory usrloc; for load tests) or `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`
    /// (shared by the registrars of a cluster, SPEC B35).
    public var store = "sqlite"
    /// Digest algorithms offered, most preferred first: `SHA-256`, `MD5`. Default both, SHA-256 first.
    public var digestAlgorithms = ["SHA-256", "MD5"]
    /// The node's name in traversal links, status and alarms. Default `<role>-1`.
    public var name: String?
    /// Edge: the traversal listener cores connect to (TLS, client certificate required). Default `127.0.0.1:7001`.
    public var traversal = "127.0.0.1:7001"
    /// Core: the edges' traversal addresses, `host:port`.
    public var edges: [String] = []
    /// Core: the registrars, most preferred first, `host:port` or `NAME=host:port` (names default to `registrar-N`).
    public var registrars: [String] = []
    /// Core: the registrars share their bindings (one PostgreSQL store), so a phone's path stays
    /// healthy while any of them is reachable (SPEC B35). Default `false`.
    public var registrarsShareBindings = false
    /// Core: time between traversal heartbeats (default 5 s; YAML `heartbeatInterval` in
    /// milliseconds); edge and core: time to wait for one's answer (default 3 s, `linkTimeout`).
    public var heartbeatInterval: Duration = .seconds(5)
    public var linkTimeout: Duration = .seconds(3)
    /// The admin API address (HTTP, token protected). Default `127.0.0.1:0` (a free port, written
    /// with the URL to `data/admin.url`).
    public var admin = "127.0.0.1:0"
    /// The admin API token; without one a random token is made once and kept in `data/admin-token`.
    public var adminToken: String?
    /// The folder of the lab CA and certificate (generated at first start). Nodes of one lab share
    /// it so they trust each other. Default `data/tls`.
    public var certificates: String?
    /// Most connections accepted from one IP address (default 200; a lab whose phones all come
    /// from 127.0.0.1 raises it).
    public var maxConnectionsPerSource = 200
    /// A PEM CA that signs the peers' certificates, with `tlsCertificate` and `tlsKey` (instead of the lab CA).
    public var tlsCA: String?
    /// Most TCP and TLS connections open at once (default 16,000), of which `reservedConnections`
    /// (default 64) only the traversal port may take (SPEC B28).
    public var maxConnections = 16_000
    public var reservedConnections = 64
    /// Time for a TLS handshake (10 s), for an accepted peer's first message (30 s) and to
    /// complete a message begun (15 s); YAML in milliseconds. A peer past one is cut off.
    public var tlsHandshakeTimeout: Duration = .seconds(10)
    public var firstMessageTimeout: Duration = .seconds(30)
    public var messageTimeout: Duration = .seconds(15)
    /// Changes to the role's intrusion protection of the user agents' listeners and the admin
    /// API (SPEC B28), from the `intrusionProtection:` key; ``intrusionPolicy(facesPhones:)`` gives
    /// the policy in force.
    public var intrusionProtection: IntrusionSettings?
    /// The event log's form and files (`logging:`); see ``EventLog/Configuration``.
    public var logging = EventLog.Configuration()
    /// The defaults of `xconfiguration Logging Module NAME Level` (`logging.levels:`), by module.
    public var loggingLevels: [String: String] = [:]
    /// When a diagnostic log stops by itself (`diagnostics:`).
    public var diagnostics = DiagnosticCaps()
    /// Whether `GET /metrics` answers without the admin token (`metricsOpen: true`, for a
    /// Prometheus that scrapes over a trusted network). Default false.
    public var metricsOpen = false
    /// The web UI's listener (`web:`); see ``WebSettings``.
    public var web = WebSettings()

    /// The top-level keys the file gave, in order.
    public private(set) var keysGiven: [String] = []

    /// The defaults.
    public init() {}

    /// Reads and checks a configuration file.
    public init(contentsOf path: String) throws {
        guard let text = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw NodeConfigurationError(path: path, key: nil, problem: "cannot read the file")
        }
        try self.init(yaml: text, path: path, folder: URL(fileURLWithPath: path).deletingLastPathComponent())
    }

    /// Parses YAML text; `path` names the file in errors. Relative paths in it (`data`,
    /// `certificates`, `tls`) follow `folder`, the file's folder (`nil`: the current folder).
    public init(yaml: String, path: String = "configuration", folder: URL? = nil) throws {
        self.init()
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            throw NodeConfigurationError(path: path, key: nil, problem: "not valid YAML: \(error)")
        }
        guard let node else { return }
        guard let root = node.mapping else {
            throw NodeConfigurationError(path: path, key: nil, problem: "the top level must be a mapping of keys")
        }
        for (keyNode, value) in root {
            let key = keyNode.string ?? "?"
            keysGiven.append(key)
            func fail(_ problem: String) -> NodeConfigurationError {
                NodeConfigurationError(path: path, key: key, problem: problem)
            }
            func string() throws -> String {
                guard let text = value.string, !text.isEmpty else { throw fail("expected text") }
                return text
            }
            /// A file or folder path: a relative one follows the configuration file's folder.
            func filePath(_ text: String?) throws -> String {
                guard let text, !text.isEmpty else { throw fail("expected a path") }
                guard !text.hasPrefix("/"), let folder else { return text }
                return URL(fileURLWithPath: text, relativeTo: folder).standardizedFileURL.path
            }
            func address() throws -> String {
                guard let text = value.string, Self.splitHostPort(text) != nil else { throw fail("expected host:port, e.g. 127.0.0.1:7001") }
                return text
            }
            func addresses(named: Bool) throws -> [String] {
                guard let list = value.sequence?.compactMap(\.string), list.count == value.sequence?.count else {
                    throw fail(named ? "expected a list of host:port or NAME=host:port" : "expected a list of host:port")
                }
                for entry in list {
                    let address = named ? String(entry.split(separator: "=", maxSplits: 1).last ?? "") : entry
                    guard Self.splitHostPort(address) != nil else {
                        throw fail("\(entry) is not \(named ? "host:port or NAME=host:port" : "host:port"), e.g. 127.0.0.1:5060")
                    }
                }
                return list
            }
            func milliseconds() throws -> Duration {
                guard let number = value.int, (50...3_600_000).contains(number) else { throw fail("expected milliseconds, 50..3600000") }
                return .milliseconds(number)
            }
            func seconds() throws -> Int64 {
                guard let number = value.int, number >= 0 else { throw fail("expected a whole number of seconds") }
                return Int64(number)
            }
            switch key {
            case "domain": domain = try string()
            case "data": data = try filePath(value.string)
            case "tls":
                guard let tls = value.mapping else { throw fail("expected certificate: and key: paths") }
                for (tlsKey, tlsValue) in tls {
                    switch tlsKey.string {
                    case "certificate": tlsCertificate = try filePath(tlsValue.string)
                    case "key": self.tlsKey = try filePath(tlsValue.string)
                    case "ca": tlsCA = try filePath(tlsValue.string)
                    default:
                        throw NodeConfigurationError(path: path, key: "tls.\(tlsKey.string ?? "?")",
                                                     problem: "unknown key; allowed: certificate, key, ca")
                    }
                }
            case "listen":
                guard let listen = value.mapping else { throw fail("expected udp:, tcp: and tls: addresses") }
                self.listen = [:]
                for (kindNode, addressNode) in listen {
                    let kind = kindNode.string ?? "?"
                    guard ["udp", "tcp", "tls"].contains(kind) else {
                        throw NodeConfigurationError(path: path, key: "listen.\(kind)", problem: "unknown transport; allowed: udp, tcp, tls")
                    }
                    guard let address = addressNode.string, Self.splitHostPort(address) != nil else {
                        throw NodeConfigurationError(path: path, key: "listen.\(kind)", problem: "expected host:port, e.g. 127.0.0.1:5060")
                    }
                    self.listen[kind] = address
                }
            case "store", "location":
                guard let text = value.string, ["sqlite", "memory"].contains(text) || text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
                    throw fail("expected sqlite, memory or postgres://USER@HOST:PORT/DATABASE")
                }
                store = text
            case "registrarsShareBindings":
                guard let flag = value.bool else { throw fail("expected true or false") }
                registrarsShareBindings = flag
            case "digestAlgorithms":
                guard let list = value.sequence?.compactMap(\.string), !list.isEmpty,
                      list.allSatisfy({ ["SHA-256", "MD5"].contains($0) }), Set(list).count == list.count else {
                    throw fail("expected a list of SHA-256 and/or MD5, most preferred first")
                }
                digestAlgorithms = list
            case "name": name = try string()
            case "traversal": traversal = try address()
            case "admin": admin = try address()
            case "adminToken": adminToken = try string()
            case "certificates": certificates = try filePath(value.string)
            case "edges": edges = try addresses(named: false)
            case "registrars": registrars = try addresses(named: true)
            case "heartbeatInterval": heartbeatInterval = try milliseconds()
            case "maxConnectionsPerSource":
                guard let number = value.int, (1...1_000_000).contains(number) else { throw fail("expected a number, 1..1000000") }
                maxConnectionsPerSource = number
            case "linkTimeout": linkTimeout = try milliseconds()
            case "maxConnections":
                guard let number = value.int, (1...1_000_000).contains(number) else { throw fail("expected a number, 1..1000000") }
                maxConnections = number
            case "reservedConnections":
                guard let number = value.int, (0...100_000).contains(number) else { throw fail("expected a number, 0..100000") }
                reservedConnections = number
            case "tlsHandshakeTimeout": tlsHandshakeTimeout = try milliseconds()
            case "firstMessageTimeout": firstMessageTimeout = try milliseconds()
            case "messageTimeout": messageTimeout = try milliseconds()
            case "intrusionProtection": intrusionProtection = try Self.intrusionSettings(value, path: path)
            case "logging": (logging, loggingLevels) = try Self.loggingSettings(value, path: path)
            case "diagnostics": diagnostics = try Self.diagnosticCaps(value, path: path)
            case "metricsOpen":
                guard let flag = value.bool else { throw fail("expected true or false") }
                metricsOpen = flag
            case "web": web = try Self.webSettings(value, path: path)
            case "defaultExpires": defaultExpires = try seconds()
            case "minExpires": minExpires = try seconds()
            case "maxExpires": maxExpires = try seconds()
            default:
                throw fail("unknown key; allowed: \(Self.keys.joined(separator: ", "))")
            }
        }
        guard minExpires <= defaultExpires, defaultExpires <= maxExpires else {
            throw NodeConfigurationError(path: path, key: "defaultExpires",
                                         problem: "must lie between minExpires (\(minExpires)) and maxExpires (\(maxExpires))")
        }
        guard reservedConnections < maxConnections else {
            throw NodeConfigurationError(path: path, key: "reservedConnections", problem: "must be less than maxConnections (\(maxConnections))")
        }
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw NodeConfigurationError(path: path, key: "tls", problem: "give both certificate and key, or neither")
        }
    }

    /// Every key a file may hold.
    public static let keys = ["domain", "data", "listen", "tls", "store", "location", "digestAlgorithms", "defaultExpires", "minExpires",
                              "maxExpires", "name", "traversal", "edges", "registrars", "registrarsShareBindings", "heartbeatInterval", "linkTimeout", "admin",
                              "adminToken", "certificates", "maxConnectionsPerSource", "maxConnections", "reservedConnections",
                              "tlsHandshakeTimeout", "firstMessageTimeout", "messageTimeout", "intrusionProtection", "logging", "diagnostics", "metricsOpen", "web"]

    /// `host:port` → (host, port); IPv6 hosts in brackets.
    public static func splitHostPort(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}

/// A configuration problem, naming the file, the key and what is allowed.
public struct NodeConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The file.
    public var path: String
    /// The key, dotted for nested ones.
    public var key: String?
    /// What is wrong and what is allowed.
    public var problem: String

    public var description: String {
        key.map { "\(path): \($0): \(problem)" } ?? "\(path): \(problem)"
    }
}
