import ArgumentParser
import EdgewayNode
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SIPTransport

/// `edgeway serve --role registrar --config FILE`: one role as a server process.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run one Edgeway role as a server until SIGTERM or Ctrl-C.",
        discussion: "The configuration file is YAML; see docs/registrar.yaml, docs/edge.yaml and docs/core.yaml for every key and its default."
    )

    /// The roles a process can run.
    enum Role: String, ExpressibleByArgument, CaseIterable {
        case registrar, edge, core
    }

    @Option(help: "The role to run (\(Role.allCases.map(\.rawValue).joined(separator: ", "))).")
    var role: Role

    @Option(help: "The YAML configuration file.")
    var config: String

    func run() async throws {
        let configuration: NodeConfiguration
        do {
            configuration = try NodeConfiguration(contentsOf: config)
        } catch let error as NodeConfigurationError {
            throw CommandFailure(error.description)
        }
        for line in configuration.unusedKeys(role: role.rawValue) {
            FileHandle.standardError.write(Data("warning: \(config): \(line)\n".utf8))
        }
        let group = MultiThreadedEventLoopGroup.singleton
        let logger = Logger(label: "edgeway.\(role)")
        let service: NodeService
        switch role {
        case .registrar:
            let node = try await RegistrarNode(configuration: configuration, group: group)
            say("edgeway registrar ready: \(Self.describe(node.boundAddresses)); domain \(configuration.domain); data \(configuration.data); store \(node.store); admin http://127.0.0.1:\(node.adminPort)")
            service = NodeService(name: "registrar", logger: logger, drain: node.drain(within:), shutdown: node.shutdown)
        case .edge:
            let node = try await EdgeNode(configuration: configuration, group: group)
            say("edgeway edge \(configuration.name ?? "edge-1") ready: \(Self.describe(node.boundAddresses)); traversal tls "
                + "\(Self.hostPort(node.traversalAddress)); admin http://127.0.0.1:\(node.adminPort); data \(configuration.data)")
            service = NodeService(name: configuration.name ?? "edge-1", logger: logger, drain: node.drain(within:), shutdown: node.shutdown)
        case .core:
            let node = try await CoreNode(configuration: configuration, group: group)
            say("edgeway core \(configuration.name ?? "core-1") ready: \(Self.describe(node.boundAddresses)); edges "
                + "\(configuration.edges.joined(separator: " ")); registrars \(configuration.registrars.joined(separator: " ")); "
                + "admin http://127.0.0.1:\(node.adminPort); data \(configuration.data)")
            service = NodeService(name: configuration.name ?? "core-1", logger: logger, drain: node.drain(within:), shutdown: node.shutdown)
        }
        // A node the lab started (`edgeway lab --processes`) stops when the lab is gone, however it
        // ended: its parent changes, and it sends itself SIGTERM.
        let orphanWatch = ProcessInfo.processInfo.environment[NodeProcess.parentVariable].flatMap(Int32.init).map { parent in
            group.next().scheduleRepeatedTask(initialDelay: .milliseconds(500), delay: .milliseconds(500)) { _ in
                if getppid() != parent { kill(getpid(), SIGTERM) }
            }
        }
        defer { orphanWatch?.cancel() }
        // SIGTERM or Ctrl-C: drain (no new connections, transactions finish within 5 s), then close.
        try await ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        say("edgeway \(role) stopped")
    }

    private static func describe(_ addresses: [SIPTransportKind: SocketAddress]) -> String {
        SIPTransportKind.allCases.compactMap { kind in addresses[kind].map { "\(kind) \(hostPort($0))" } }.joined(separator: ", ")
    }

    private static func hostPort(_ address: SocketAddress) -> String {
        "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    }
}

/// Writes a line to standard output at once, even when it is a pipe.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
