import AdminWeb
import Diagnostics
import Foundation
import Logging
import NIOConcurrencyHelpers
import Settings
import NIOCore
import SIPStack
import SIPTransport

/// A node's event log, message log and diagnostic logging across the cluster (SPEC B25, B26),
/// and the `Logging Module NAME Level` settings that steer them at runtime.
final class NodeDiagnostics: Sendable {
    let events: EventLog
    let logging: DiagnosticLogging
    let cluster: ClusterDiagnostics
    /// The token peers present on `/api/cluster`: random per start, told to peers with the
    /// node's admin address (``ClusterPeers``).
    let peerToken = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    private let stack: SIPStack
    private let administered = NIOLockedValueBox<(any AdministeredNode)?>(nil)
    private let observation: Settings.Observation

    /// The open TCP and TLS connections by transport, for the metrics.
    var connectionCounts: [SIPTransportKind: Int] { stack.transport.connectionCounts }

    /// Opens a node's event log (`DATA/logs/event.log`); the node's logger writes to it.
    static func eventLog(_ configuration: NodeConfiguration, name: String) throws -> EventLog {
        var logging = configuration.logging
        for (module, word) in configuration.loggingLevels { logging.levels[module] = Self.level(word) }
        return try EventLog(node: name, folder: URL(fileURLWithPath: configuration.data), configuration: logging)
    }

    /// The settings catalogue of a node: its role's settings and the logging levels.
    static func catalog(_ configuration: NodeConfiguration, role: SettingsCatalog?) -> SettingsCatalog {
        let logging = SettingsCatalog.logging(modules: EventLog.modules, defaults: configuration.loggingLevels)
        return role?.adding(logging) ?? SettingsCatalog(logging)
    }

    /// Steers `events` from `settings` and attaches the message log and diagnostic logging to
    /// the stack's transport.
    init(name: String, configuration: NodeConfiguration, events: EventLog, stack: SIPStack, settings: Settings) {
        self.events = events
        self.stack = stack
        let box = administered
        logging = DiagnosticLogging(node: name, data: URL(fileURLWithPath: configuration.data), events: events, transport: stack.transport,
                                    snapshot: { await Self.snapshot(box.withLockedValue { $0 }, settings: settings) })
        cluster = ClusterDiagnostics(logging: logging, peers: stack.peers, caps: configuration.diagnostics)
        for module in EventLog.modules {
            if let word = try? settings.value(SettingsCatalog.loggingLevel(module)) {
                logging.setLevel(Self.level(word.description), of: module)
            }
        }
        let logging = logging
        observation = settings.observe { change in
            logging.events.logger().info("xconfiguration changed", metadata: ["path": "\(change.path)", "old": "\(change.old)",
                                                                               "new": "\(change.new)"])
            let words = change.path.components.map { $0.lowercased() }
            guard words.count == 4, words[0] == "logging", words[1] == "module",
                  let module = EventLog.modules.first(where: { $0 == words[2] }) else { return }
            logging.setLevel(Self.level(change.new.description), of: module)
        }
    }

    deinit {
        observation.cancel()
    }

    /// The node's admin API runs at `adminURL`: snapshots read it, and peers are told of it.
    func started(_ node: any AdministeredNode, adminURL: String, listening: [String: SocketAddress]) {
        administered.withLockedValue { $0 = node }
        var metadata: Logger.Metadata = ["admin": "\(adminURL)"]
        for (transport, address) in listening { metadata[transport] = "\(address.ipAddress ?? "?"):\(address.port ?? 0)" }
        events.logger().info("\(node.identity) started", metadata: metadata)
        stack.peers.local = ClusterPeer(name: logging.node, admin: adminURL, token: peerToken)
    }

    static func level(_ word: String) -> Logger.Level {
        switch word.lowercased() {
        case "error": .error
        case "warning": .warning
        case "debug": .debug
        default: .info
        }
    }

    /// `xconfiguration-NAME.txt` (every setting) and `xstatus-NAME.txt` (every status line, the
    /// registrations counted, not listed).
    private static func snapshot(_ node: (any AdministeredNode)?, settings: Settings) async -> [String: String] {
        let configuration = (try? settings.values(under: SettingPath([])))?.map { XConfigurationCommand.line($0.path, $0.value) } ?? []
        // Every status line but the list of registrations (a registrar's could be 100,000 long):
        // a path other than Registrations gives their count only.
        let status = await node?.statusLines(path: ["snapshot"], user: nil).map { "*s \($0.path): \($0.value)" } ?? []
        return ["xconfiguration-NAME.txt": (configuration + ["** end"]).joined(separator: "\n") + "\n",
                "xstatus-NAME.txt": (status + ["** end"]).joined(separator: "\n") + "\n"]
    }
}
