import ArgumentParser

/// The `edgeway` command: operator tools for the Edgeway SIP edge-traversal system.
@main
struct Edgeway: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgeway",
        abstract: "Edgeway: SIP edge traversal with STUN keepalive failover.",
        subcommands: [MessageCommand.self]
    )
}
