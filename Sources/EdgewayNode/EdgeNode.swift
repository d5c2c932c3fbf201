import AdminWeb
import Diagnostics
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import Proxy
import Settings
import SIPStack
import SIPTransport

/// An edge as a running node: phone listeners (TLS, TCP, UDP), the traversal listener that
/// requires a core's client certificate, settings in SQLite and the admin API.
public final class EdgeNode: Sendable {
    /// The phone-facing addresses actually bound, per transport.
    public let boundAddresses: [SIPTransportKind: SocketAddress]
    /// The traversal listener's address.
    public let traversalAddress: SocketAddress
    /// The admin API port.
    public let adminPort: Int
    /// The node's settings.
    public let settings: Settings
    /// The edge role.
    public let service: EdgeService
    private let stack: SIPStack
    private let admin: NodeResources.AdminListeners
    /// The web UI, `https://127.0.0.1:PORT` (`nil`: `web: off`).
    public let webURL: String?
    private let diagnostics: NodeDiagnostics

    /// Opens the settings and listeners and starts the admin API.
    public init(configuration: NodeConfiguration, group: EventLoopGroup) async throws {
        ProcessMemory.mapLargeAllocations()
        let resources = try NodeResources(configuration)
        let name = configuration.name ?? "edge-1"
        settings = resources.settings
        let events = try NodeDiagnostics.eventLog(configuration, name: name)
        let metrics = NodeMetrics()
        let stack = SIPStack(group: group, transportConfiguration: configuration.transportConfiguration(facesPhones: true,
                                tlsServer: try resources.certificates.serverContext(), metrics: metrics.transport),
                             logger: events.logger())
        self.stack = stack
        do {
            guard let (host, port) = NodeConfiguration.splitHostPort(configuration.traversal) else {
                throw NodeConfigurationError(path: "configuration", key: "traversal", problem: "expected host:port")
            }
            do {
                traversalAddress = try await stack.transport.listen(.tls, host: host, port: port,
                                                                    tlsContext: try resources.certificates.traversalServerContext(),
                                                                    audience: .peers)
            } catch {
                throw NodeConfigurationError(path: "configuration", key: "traversal", problem: "\(error)")
            }
            boundAddresses = try await NodeListeners.open(configuration.listen, on: stack)
            service = EdgeService(stack: stack, settings: settings,
                                  configuration: .init(name: name, traversalAddress: traversalAddress, linkTimeout: configuration.linkTimeout))
        } catch {
            await stack.transport.shutdown()
            throw error
        }
        let service = service
        let diagnostics = NodeDiagnostics(name: name, configuration: configuration, events: events, stack: stack, settings: settings)
        self.diagnostics = diagnostics
        let administration = RoleAdministration(identity: "edge \(name)", settings: settings, intrusion: stack.transport.intrusion,
                                                alarms: service.alarmLedger, accounts: resources.accounts,
                                                status: { await service.status }, registrations: { _ in await service.registrations },
                                                registrationCount: { await service.registrations.count },
                                                calls: service.calls, commands: ["Links Refresh": { service.refreshLinks() }],
                                                diagnostics: diagnostics, metrics: metrics, metricsOpen: configuration.metricsOpen)
        admin = try await NodeResources.startAdmin(administration, configuration: configuration, listening: NodeListeners.named(boundAddresses).merging(["traversal": traversalAddress]) { first, _ in first })
        adminPort = admin.api.port
        webURL = admin.webURL
    }

    /// Stops accepting connections and lets running transactions finish, for at most `limit`;
    /// `true` when they all did. ``shutdown()`` follows (SIGTERM, ``NodeService``).
    public func drain(within limit: Duration) async -> Bool {
        await stack.drain(within: limit)
    }

    /// Closes the admin API, listeners and connections.
    public func shutdown() async {
        await service.stop()
        await admin.stop()
        await diagnostics.logging.shutdown()
        await stack.transport.shutdown()
    }
}

/// Listeners from a configuration's `listen` section.
enum NodeListeners {
    /// The bound addresses by transport name, for the event log.
    static func named(_ bound: [SIPTransportKind: SocketAddress]) -> [String: SocketAddress] {
        Dictionary(uniqueKeysWithValues: bound.map { ($0.key.rawValue, $0.value) })
    }

    static func open(_ listen: [String: String], on stack: SIPStack) async throws -> [SIPTransportKind: SocketAddress] {
        var bound: [SIPTransportKind: SocketAddress] = [:]
        for kind in SIPTransportKind.allCases {
            guard let text = listen[kind.rawValue], let (host, port) = NodeConfiguration.splitHostPort(text) else { continue }
            do {
                bound[kind] = try await stack.transport.listen(kind, host: host, port: port)
            } catch {
                throw NodeConfigurationError(path: "listen", key: kind.rawValue, problem: "\(error)")
            }
        }
        return bound
    }
}

/// How the edge's process allocates memory.
enum ProcessMemory {
    /// Makes allocations of 16 KiB and more separate mappings, so only their touched pages count.
    /// swift-nio-ssl gives every TLS connection a 32 KiB plaintext buffer and a 16 KiB outbound
    /// buffer; an idle phone's connection then costs the page or so a SIP message fills in each,
    /// not 48 KiB of recycled heap (measured: 28.6 → 23.9 KiB per registered flow).
    static func mapLargeAllocations() {
        #if canImport(Glibc)
        // glibc's mallopt(3), which its Swift module does not expose.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        _ = unsafeBitCast(symbol, to: MallOpt.self)(-3, 16 * 1_024)  // M_MMAP_THRESHOLD
        #endif
    }
}
