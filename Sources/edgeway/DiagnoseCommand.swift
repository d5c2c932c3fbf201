import ArgumentParser
import Diagnostics
import Foundation

/// `edgeway diagnose BUNDLE|PCAP|LOG [--json] [--user AOR]` (SPEC B27).
struct DiagnoseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diagnose",
        abstract: "Read a diagnostic bundle, a pcap or a message log and say, per phone and for the cluster, what went wrong.",
        discussion: """
            Checks what an operator checks by hand: AR_SK offered in the REGISTER and X-cisco-supports-AR_SK in \
            the 200 OK (and why not), refusals and the hop that refused, the keepalive cadence (interval, \
            answered share, RTT, timeouts, keepalives the edge withheld and why), each failover with its \
            cause and the time to re-register, failovers deferred by a call. A verdict line per phone and \
            one for the cluster, with the messages' times and Call-IDs as evidence.
              edgeway diagnose .edgeway-lab/edge-1/diagnostics/diagnostic-20261201083253.tar.gz
              edgeway diagnose capture.pcap --user alice --json
            Exit status 2 when the input is not a bundle, a pcap or a message log, or is cut short.
            """
    )

    @Argument(help: "A bundle (.tar.gz from DiagnosticLogging Collect), a pcap of SIP over UDP/TCP (or our decrypted capture), or a message log.")
    var input: String

    @Flag(help: "Print the report as JSON (the same content).")
    var json = false

    @Option(help: "Only this user's phones (alice, alice@example.com or sip:alice@example.com).")
    var user: String?

    func run() async throws {
        let report: DiagnosisReport
        do {
            report = try await Diagnosis.diagnose(input, user: user)
        } catch let error as DiagnosticsError {
            FileHandle.standardError.write(Data("Error: \(error.detail)\n".utf8))
            throw ExitCode(2)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            FileHandle.standardOutput.write(try encoder.encode(report) + Data("\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data(report.text.utf8))
        }
    }
}
