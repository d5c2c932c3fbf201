import AdminWeb
import Diagnostics
import Foundation
import NIOCore
import Proxy
import Settings
import SIPStack
import SIPTransport

/// A core as a running node: its SIP listener towards the registrars, traversal links to every
/// configured edge, STUN keepalives to every registrar, settings in SQLite and the admin API.
public final class CoreNode: Sendable {
    /// The SIP addresses actually bound, per transport.
    public let boundAddresses: [SIPTransportKind: SocketAddress]
    /// The admin API port.
    public let adminPort: Int
    /// The node's settings.
    public let settings: Settings
    /// The core role.
    public let service: CoreService
    private let stack: SIPStack
    private let admin: NodeResources.AdminListeners
    /// The web UI, `https://127.0.0.1:PORT` (`nil`: `web: off`).
    public let webURL: String?
    private let diagnostics: NodeDiagnostics
    private let peering: RegistrarPeering

    /// Opens the settings and the listener, starts the links, keepalives and admin API.
    public init(configuration: NodeConfiguration, group: EventLoopGroup) async throws {
        let resources = try NodeResources(configuration)
        let name = configuration.name ?? "core-1"
        settings = resources.settings
        guard !configuration.edges.isEmpty else {
            throw NodeConfigurationError(path: "configuration", key: "edges", problem: "a core needs at least one edge traversal address")
        }
        guard !configuration.registrars.isEmpty else {
            throw NodeConfigurationError(path: "configuration", key: "registrars", problem: "a core needs at least one registrar address")
        }
        let edges = try configuration.edges.map { try NodeResources.address($0, key: "edges") }
        let registrars = try configuration.registrars.enumerated().map { index, entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            return CoreService.RegistrarTarget(name: parts.count == 2 ? parts[0] : "registrar-\(index + 1)",
                                               address: try NodeResources.address(parts.last!, key: "registrars"))
        }
        let events = try NodeDiagnostics.eventLog(configuration, name: name)
        let metrics = NodeMetrics()
        let stack = SIPStack(group: group, transportConfiguration: configuration.transportConfiguration(facesPhones: false,
                                tlsServer: try resources.certificates.serverContext(), tlsClient: try resources.certificates.clientContext(),
                                metrics: metrics.transport),
                             logger: events.logger())
        self.stack = stack
        do {
            boundAddresses = try await NodeListeners.open(configuration.listen.filter { $0.key == "tcp" }, on: stack)
            guard let sip = boundAddresses[.tcp] else {
                throw NodeConfigurationError(path: "configuration", key: "listen.tcp", problem: "a core needs a TCP listener towards its registrars")
            }
            service = CoreService(stack: stack, settings: settings,
                                  configuration: .init(name: name, edges: edges, registrars: registrars,
                                                       registrarsShareBindings: configuration.registrarsShareBindings, sipAddress: sip,
                                                       heartbeatInterval: configuration.heartbeatInterval,
                                                       linkTimeout: configuration.linkTimeout))
        } catch {
            await stack.transport.shutdown()
            throw error
        }
        let service = service
        let diagnostics = NodeDiagnostics(name: name, configuration: configuration, events: events, stack: stack, settings: settings)
        self.diagnostics = diagnostics
        let administration = RoleAdministration(identity: "core \(name)", settings: settings, intrusion: stack.transport.intrusion,
                                                alarms: service.alarmLedger, accounts: resources.accounts,
                                                status: { await service.status }, registrations: { _ in await service.registrations },
                                                registrationCount: { await service.registrations.count },
                                                calls: service.calls,
                                                commands: ["Links Refresh": { service.refreshLinks() },
                                                           "Registrars Probe": { service.probeRegistrars() }],
                                                diagnostics: diagnostics, metrics: metrics, metricsOpen: configuration.metricsOpen)
        admin = try await NodeResources.startAdmin(administration, configuration: configuration, listening: NodeListeners.named(boundAddresses))
        adminPort = admin.api.port
        webURL = admin.webURL
        peering = RegistrarPeering(stack: stack, registrars: registrars.map(\.address), every: max(configuration.heartbeatInterval, .seconds(1)))
        service.start()
    }

    /// Stops accepting connections and lets running transactions finish, for at most `limit`;
    /// `true` when they all did. ``shutdown()`` follows (SIGTERM, ``NodeService``).
    public func drain(within limit: Duration) async -> Bool {
        await stack.drain(within: limit)
    }

    /// Stops the links and keepalives and closes the admin API, listeners and connections.
    public func shutdown() async {
        peering.stop()
        await service.stop()
        await admin.stop()
        await diagnostics.logging.shutdown()
        await stack.transport.shutdown()
    }
}
