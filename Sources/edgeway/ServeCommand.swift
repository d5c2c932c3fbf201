import ArgumentParser
import EdgewayNode
import Foundation
import NIOPosix
import SIPTransport

/// `edgeway serve --role registrar --config FILE`: one role as a server process.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run one Edgeway role as a server until SIGTERM or Ctrl-C.",
        discussion: "The configuration file is YAML; see docs/registrar.yaml for every key and its default."
    )

    /// The roles a process can run.
    enum Role: String, ExpressibleByArgument, CaseIterable {
        case registrar
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
            throw ValidationError(error.description)
        }
        let node = try await RegistrarNode(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton)
        let addresses = SIPTransportKind.allCases.compactMap { kind in
            node.boundAddresses[kind].map { "\(kind) \($0.ipAddress ?? "?"):\($0.port ?? 0)" }
        }
        say("edgeway registrar ready: \(addresses.joined(separator: ", ")); domain \(configuration.domain); data \(configuration.data)")
        let signal = await ProcessSignals.next([SIGTERM, SIGINT])
        say("edgeway registrar stopping (signal \(signal))")
        await node.shutdown()
        say("edgeway registrar stopped")
    }
}

/// Writes a line to standard output at once, even when it is a pipe.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
