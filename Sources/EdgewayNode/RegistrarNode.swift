import AdminWeb
import Diagnostics
import Foundation
import Location
import Logging
import LocationPostgres
import LocationSQLite
import NIOCore
import NIOPosix
import NIOSSL
import Proxy
import Registrar
import SIPCore
import SIPStack
import SIPTransport

/// A registrar as a running node: stores in SQLite under the data folder or in a PostgreSQL
/// shared with the other registrars of a cluster, listeners from the
/// configuration, TLS from PEM files or a generated lab certificate, expired bindings purged.
public final class RegistrarNode: Sendable {
    /// The addresses actually bound, per transport.
    public let boundAddresses: [SIPTransportKind: SocketAddress]
    /// Where the bindings are kept.
    public let locations: any LocationStore
    /// The store as the ready line names it (`sqlite`, `memory`, a PostgreSQL URL without its password).
    public let store: String
    private let stack: SIPStack
    private let registrar: RegistrarService
    private let purge: RepeatedTask
    /// The shared database's pool, running while the node runs (`store: postgres://…`).
    private let database: Task<Void, any Error>?
    /// The admin API (`xstatus Registrations`, `xstatus Calls`, `Security`) and its port.
    private let admin: NodeResources.AdminListeners
    /// The web UI, `https://127.0.0.1:PORT` (`nil`: `web: off`).
    public let webURL: String?
    private let diagnostics: NodeDiagnostics
    public let adminPort: Int

    /// Opens the stores and starts listening.
    public init(configuration: NodeConfiguration, group: EventLoopGroup) async throws {
        let data = URL(fileURLWithPath: configuration.data)
        // Owner only: the folder holds keys, tokens and account hashes (SPEC B28).
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let name = configuration.name ?? "registrar"
        let events = try NodeDiagnostics.eventLog(configuration, name: name)
        let logger = events.logger()
        let settings = try NodeResources.settings(configuration, role: nil)
        let adminAccounts = try NodeResources.accounts(configuration)
        let stores = try Self.openStores(configuration.store, data: data, logger: logger)
        let locations = stores.locations, accounts = stores.accounts
        self.locations = locations
        database = stores.database
        let storeName = stores.shared == nil ? configuration.store : PostgresDatabase.redacted(configuration.store)
        store = storeName
        var started = false
        // A node that fails to start leaves no pool behind.
        defer { if !started { stores.database?.cancel() } }
        // Said at start, not at the first REGISTER: a store that cannot be reached is logged now.
        await stores.shared?.probe()
        let tlsServer = try configuration.listen["tls"].map { _ in
            let own = try NodeResources.certificate(configuration)
            return try SIPTLS.serverContext(certificateChainPEM: own.chainPEM, privateKeyPEM: own.keyPEM)
        }
        let metrics = NodeMetrics()
        let stack = SIPStack(group: group, transportConfiguration: configuration.transportConfiguration(facesPhones: false, tlsServer: tlsServer,
                                                                                                        metrics: metrics.transport), logger: logger)
        self.stack = stack
        let policy = RegistrationPolicy(defaultExpires: configuration.defaultExpires, minExpires: configuration.minExpires,
                                        maxExpires: configuration.maxExpires)
        registrar = RegistrarService(stack: stack, locations: locations, accounts: accounts,
                                     configuration: .init(domain: configuration.domain, policy: policy,
                                                          digestAlgorithms: configuration.digestAlgorithms.compactMap(DigestAuthenticator.Algorithm.init)),
                                     clock: { Int64(Date().timeIntervalSince1970 * 1000) }, logger: logger)
        var bound: [SIPTransportKind: SocketAddress] = [:]
        for kind in SIPTransportKind.allCases {
            guard let text = configuration.listen[kind.rawValue], let (host, port) = NodeConfiguration.splitHostPort(text) else { continue }
            do {
                bound[kind] = try await stack.transport.listen(kind, host: host, port: port)
            } catch {
                await stack.transport.shutdown()
                throw NodeConfigurationError(path: "listen", key: kind.rawValue, problem: "\(error)")
            }
        }
        boundAddresses = bound
        let diagnostics = NodeDiagnostics(name: name, configuration: configuration, events: events, stack: stack, settings: settings)
        self.diagnostics = diagnostics
        let ledger = AlarmLedger()
        let administration = RoleAdministration(identity: "registrar \(name)", settings: settings,
                                                intrusion: stack.transport.intrusion, alarms: ledger,
                                                accounts: adminAccounts,
                                                status: { [shared = stores.shared] in
                                                    let current = Self.alarms(shared, store: storeName)
                                                    ledger.reconcile(current)
                                                    return StatusLine.alarms(current)
                                                },
                                                registrations: { [domain = configuration.domain] user in
                                                    try await Self.listings(locations, user: user, domain: domain)
                                                },
                                                registrationCount: { try await locations.count() }, calls: registrar.calls, commands: [:],
                                                diagnostics: diagnostics, metrics: metrics, metricsOpen: configuration.metricsOpen)
        do {
            admin = try await NodeResources.startAdmin(administration, configuration: configuration, listening: NodeListeners.named(bound))
        } catch {
            await stack.transport.shutdown()
            throw error
        }
        adminPort = admin.api.port
        webURL = admin.webURL
        purge = group.next().scheduleRepeatedTask(initialDelay: .seconds(30), delay: .seconds(30)) { _ in
            Task { _ = try? await locations.purgeExpired(now: Int64(Date().timeIntervalSince1970 * 1000)) }
        }
        started = true
    }

    /// Stops accepting connections and lets running transactions finish, for at most `limit`;
    /// `true` when they all did. ``shutdown()`` follows (SIGTERM, ``NodeService``).
    public func drain(within limit: Duration) async -> Bool {
        await stack.drain(within: limit)
    }

    /// Closes the admin API, listeners and connections.
    public func shutdown() async {
        purge.cancel()
        await admin.stop()
        await diagnostics.logging.shutdown()
        await stack.transport.shutdown()
        database?.cancel()
    }

    /// The location and account stores `store` names. For PostgreSQL, `shared` is the database
    /// (``PostgresDatabase/probe()`` says whether it answers) and `database` the task that keeps
    /// its pool: cancel it when done. `deadline` bounds each PostgreSQL call: 2 s for a
    /// registrar answering REGISTERs; an administrative tool (`edgeway users`, the lab's set-up)
    /// gives more, since a fresh database's first use creates the tables.
    public static func openStores(_ store: String, data: URL, deadline: Duration = .seconds(2),
                                  logger: Logger = Logger(label: "edgeway.registrar"))
        throws -> (locations: any LocationStore, accounts: any AccountStore, shared: PostgresDatabase?, database: Task<Void, any Error>?) {
        if store.hasPrefix("postgres") {
            let database = try PostgresDatabase(url: store, deadline: deadline, logger: logger)
            let running = Task { try await database.run() }
            return (PostgresLocationStore(database: database), PostgresAccountStore(database: database), database, running)
        }
        let locations: any LocationStore = store == "memory"
            ? InMemoryLocationStore()
            : try SQLiteLocationStore(path: data.appendingPathComponent("location.sqlite").path)
        return (locations, try SQLiteAccountStore(path: data.appendingPathComponent("accounts.sqlite").path), nil, nil)
    }

    /// A shared store that does not answer is an alarm (`store-unreachable`) with its cause.
    private static func alarms(_ shared: PostgresDatabase?, store: String) -> [Alarm] {
        guard let cause = shared?.down else { return [] }
        return [Alarm(id: "store-unreachable", description: "the location store \(store) is unreachable: \(cause); "
                      + "REGISTERs are answered 503 with Retry-After until it answers")]
    }

    /// The unexpired bindings as `xstatus Registrations` lists them: `user`'s (`alice`, in
    /// `domain`, or `alice@host`), else the first 100,000. The edge is the one the core's Contact
    /// names, else the Path entry nearest the phone (RFC 3327 §5); the device name is the
    /// Contact's.
    private static func listings(_ locations: any LocationStore, user: String?, domain: String) async throws -> [RegistrationListing] {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let bindings: [Binding]
        if let user {
            let bare = user.hasPrefix("sip:") ? String(user.dropFirst(4)) : user.hasPrefix("sips:") ? String(user.dropFirst(5)) : user
            let (name, host) = (bare.prefix { $0 != "@" }, bare.contains("@") ? String(bare.drop { $0 != "@" }.dropFirst()) : domain)
            bindings = try await locations.bindings(for: "sip:\(name)@\(host.lowercased())")
        } else {
            bindings = try await locations.listBindings(limit: 100_000)
        }
        return bindings.filter { $0.expiresAt > now }.map { binding in
            // Through a core, the Contact names the edge and keeps the phone's own address.
            let restored = (try? SIPURI(parsing: binding.contactURI)).flatMap(ContactRewrite.restore)
            let edge = restored.map(\.edge)
                ?? binding.path.last.flatMap { try? NameAddress(parsing: $0, header: "Path") }.flatMap(NodeRoute.node(of:)).map(String.init)
            let device = (try? NameAddress(parsing: binding.contactValue)).flatMap(RegistrationListing.deviceName(of:))
            return RegistrationListing(aor: binding.aor, device: device, instance: binding.instanceID, regID: binding.regID,
                                       contact: restored?.uri.description ?? binding.contactURI, edge: edge,
                                       expiresIn: Int((binding.expiresAt - now) / 1000))
        }
    }
}
