import ArgumentParser

/// The `edgeway` command: operator tools and servers of the Edgeway SIP edge-traversal system.
@main
struct Edgeway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgeway",
        abstract: "Edgeway: SIP edge traversal with STUN keepalive failover.",
        version: "0.16.0",
        subcommands: [ServeCommand.self, UsersCommand.self, AdminsCommand.self, StunCommand.self, MessageCommand.self,
                      XConfigurationCLI.self, XStatusCLI.self, XCommandCLI.self, LoadgenCommand.self, PhoneCommand.self, LabCommand.self,
                      DiagnoseCommand.self]
    )
}
