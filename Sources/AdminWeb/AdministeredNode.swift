import Foundation
import Settings
import SIPTransport

/// What the admin API needs from a running node.
public protocol AdministeredNode: Sendable {
    /// The node's role and name, e.g. `edge edge-1`.
    var identity: String { get }
    /// Its settings (`nil` for a node without any, such as the lab as a whole).
    var settings: Settings? { get }
    /// Its status as `(path, value)` lines, e.g. `("Links Link 1 State", "Up")`. `path` is the
    /// query's words in lower case (empty: everything), so a node may leave out what was not asked
    /// for; with `user` (`alice`, `alice@example.com`, `sip:alice@example.com`), only that user's
    /// registrations.
    func statusLines(path: [String], user: String?) async -> [(path: String, value: String)]
    /// The commands `xcommand` accepts, e.g. `Links Refresh`.
    var commands: [String] { get }
    /// Runs one of ``commands`` and returns the lines to print.
    func run(command: String) async throws -> [String]
    /// The node's intrusion protection, which counts wrong admin tokens (`nil`: none).
    var intrusion: IntrusionProtection? { get }
    /// The token peers present on `POST /api/cluster` (`nil`: the node takes no peer requests).
    var peerToken: String? { get }
    /// A peer's diagnostic-log request (JSON in, JSON out).
    func peerRequest(_ body: Data) async throws -> Data
    /// The last diagnostic-log bundle this node collected (`GET /api/diagnostics/bundle`).
    var bundle: URL? { get }
    /// `GET /metrics`: the node's metrics in the Prometheus text format (`nil`: none).
    func metrics() async -> [UInt8]?
    /// Whether `/metrics` answers without the admin token (`metricsOpen: true` in the YAML).
    var metricsOpen: Bool { get }
    /// `GET /health/ready`: `nil` when the node serves, else why it does not (a 503 says it).
    func notReady() async -> String?
    /// The web UI's admin accounts (`nil`: no one can log in).
    var accounts: AdminAccountStore? { get }
    /// *Maintenance > Diagnostics > Diagnose*: the report of `edgeway diagnose` on ``bundle``
    /// (`nil`: no bundle collected here yet).
    func diagnosis() async -> String?
    /// Writes an info event to the node's event log (web logins, logouts and changes).
    func logEvent(_ message: String, metadata: [String: String])
    /// The lab's entry page: the web UI of each node, by name (empty on a node).
    var webLinks: [(name: String, url: String)] { get }
    /// One page of `xstatus Registrations` (`user`'s only when given): `Registrations Registration
    /// N …` lines for the page of `limit` that holds the `offset`-th (``registrationPageStart``:
    /// past the end, the last page), how many there are, and where the page starts.
    func registrationLines(user: String?, offset: Int, limit: Int) async -> (total: Int, offset: Int, lines: [(path: String, value: String)])
}

extension AdministeredNode {
    public var peerToken: String? { nil }
    public func peerRequest(_ body: Data) async throws -> Data {
        throw UnknownCommandError(command: "cluster request", known: [])
    }
    public var bundle: URL? { nil }
    public func metrics() async -> [UInt8]? { nil }
    public var metricsOpen: Bool { false }
    public func notReady() async -> String? { nil }
    public var accounts: AdminAccountStore? { nil }
    public func diagnosis() async -> String? { nil }
    public func logEvent(_ message: String, metadata: [String: String]) {}
    public var webLinks: [(name: String, url: String)] { [] }
    public func registrationLines(user: String?, offset: Int, limit: Int) async -> (total: Int, offset: Int, lines: [(path: String, value: String)]) {
        (0, 0, [])
    }
}

/// Where a page of `limit` registrations starts when asked for the `offset`-th of `total`: at a
/// multiple of `limit`, never past the last page (0 when there are none).
public func registrationPageStart(offset: Int, total: Int, limit: Int) -> Int {
    min(max(0, offset) / limit * limit, max(0, total - 1) / limit * limit)
}

/// An `xcommand` the node does not know; the message lists the ones it knows.
public struct UnknownCommandError: Error, CustomStringConvertible {
    /// The command given.
    public var command: String
    /// The commands known.
    public var known: [String]

    /// Creates the error.
    public init(command: String, known: [String]) {
        self.command = command
        self.known = known
    }

    public var description: String {
        "xcommand \(command): unknown command; allowed: \(known.joined(separator: ", "))"
    }
}
