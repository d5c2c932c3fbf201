import AdminWeb
import Diagnostics
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Proxy
import Settings
import SIPStack
import SIPTransport

/// A role as the admin API sees it: its settings, its status and its commands, with the
/// intrusion protection every node has (SPEC B28): `xstatus Security` lists the blocked
/// sources and `xcommand Security Unblock Address: ADDRESS` ends a block.
///
/// Every role lists its registrations (`xstatus Registrations`, `… Registrations User: AOR`) and
/// the calls its forwarder carries (`xstatus Calls`).
struct RoleAdministration: AdministeredNode {
    let identity: String
    let settings: Settings?
    let status: @Sendable () async -> [StatusLine]
    let registrations: @Sendable (_ user: String?) async throws -> [RegistrationListing]
    let registrationCount: @Sendable () async throws -> Int
    let calls: CallTable
    let actions: [String: @Sendable () -> Void]
    let intrusion: IntrusionProtection?
    /// `xcommand DiagnosticLogging …` and peers' requests.
    let diagnostics: NodeDiagnostics
    /// `GET /metrics`.
    let nodeMetrics: NodeMetrics
    let metricsOpen: Bool
    /// Alarms raised and cleared since the start (`xstatus AlarmHistory`, *Status > Alarms*).
    let alarms: AlarmLedger
    /// The web UI's admin accounts (`DATA/admins.sqlite`).
    let accounts: AdminAccountStore?
    /// The last bundle's diagnosis: a bundle is read once (bundles are never rewritten; a new
    /// log's Collect makes a new one).
    private let diagnoses = NIOLockedValueBox<(bundle: URL, report: String)?>(nil)

    init(identity: String, settings: Settings?, intrusion: IntrusionProtection, alarms: AlarmLedger, accounts: AdminAccountStore?,
         status: @escaping @Sendable () async -> [StatusLine],
         registrations: @escaping @Sendable (_ user: String?) async throws -> [RegistrationListing],
         registrationCount: @escaping @Sendable () async throws -> Int, calls: CallTable,
         commands: [String: @Sendable () -> Void], diagnostics: NodeDiagnostics, metrics: NodeMetrics, metricsOpen: Bool) {
        self.identity = identity
        self.settings = settings
        self.intrusion = intrusion
        self.status = status
        self.registrations = registrations
        self.registrationCount = registrationCount
        self.calls = calls
        self.actions = commands
        self.diagnostics = diagnostics
        self.nodeMetrics = metrics
        self.metricsOpen = metricsOpen
        self.alarms = alarms
        self.accounts = accounts
    }

    private static let unblock = "Security Unblock Address: ADDRESS"
    private static let acknowledge = "Alarms Acknowledge Number: N [By: NAME]"

    var commands: [String] { (actions.keys + [Self.unblock, Self.acknowledge] + ClusterDiagnostics.commands).sorted() }

    /// Web logins, logouts and changes, in the node's event log (module `events`).
    func logEvent(_ message: String, metadata: [String: String]) {
        diagnostics.events.logger().info("\(message)", metadata: metadata.mapValues { .string($0) })
    }

    /// One page of the registrations, `user`'s only when given; lines as `xstatus Registrations` gives them.
    func registrationLines(user: String?, offset: Int, limit: Int) async -> (total: Int, offset: Int, lines: [(path: String, value: String)]) {
        do {
            let found = try await registrations(user).filter { listing in user.map(listing.belongs(to:)) ?? true }
            let start = registrationPageStart(offset: offset, total: found.count, limit: limit)
            let page = Array(found.dropFirst(start).prefix(limit))
            return (found.count, start, StatusLine.registrations(page, total: found.count).map { ($0.path, $0.value) })
        } catch {
            return (0, 0, [("Registrations Error", "cannot read the registrations: \(error)")])
        }
    }

    /// *Maintenance > Diagnostics > Diagnose*: `edgeway diagnose` on the last bundle collected here.
    func diagnosis() async -> String? {
        guard let bundle else { return nil }
        if let cached = diagnoses.withLockedValue({ $0 }), cached.bundle == bundle { return cached.report }
        let report: String
        do {
            report = try await Diagnosis.diagnose(bundle.path, user: nil).text
        } catch let error as DiagnosticsError {
            report = "cannot read \(bundle.lastPathComponent): \(error.detail)"
        } catch {
            report = "cannot read \(bundle.lastPathComponent): \(error)"
        }
        diagnoses.withLockedValue { $0 = (bundle, report) }
        return report
    }

    var peerToken: String? { diagnostics.peerToken }

    func peerRequest(_ body: Data) async throws -> Data {
        try await diagnostics.cluster.peerRequest(body)
    }

    var bundle: URL? { diagnostics.cluster.bundle }

    /// The registry with the scrape-time values set from the status (registrations counted).
    func metrics() async -> [UInt8]? {
        nodeMetrics.text(status: await statusLines(path: ["metrics"], user: nil), connections: diagnostics.connectionCounts)
    }

    /// Ready when the role can serve: an edge with a traversal link up, a core with a link up and
    /// a registrar reachable, a registrar whose store answers.
    func notReady() async -> String? {
        let lines = await statusLines(path: ["health"], user: nil)
        let up = lines.contains { $0.path.hasPrefix("Links Link ") && $0.path.hasSuffix(" State") && $0.value == "Up" }
        switch identity.split(separator: " ").first {
        case "edge":
            return up ? nil : "no traversal link is up"
        case "core":
            guard up else { return "no traversal link is up" }
            let reachable = lines.contains { $0.path.hasPrefix("Registrars Registrar ") && $0.path.hasSuffix(" State") && $0.value == "Reachable" }
            return reachable ? nil : "no registrar answers its keepalives"
        default:
            return lines.first { $0.path.hasSuffix(" Id") && $0.value.contains("store-unreachable") }.map { _ in "its location store is unreachable" }
        }
    }

    /// Registrations are listed only when asked for (everything, or `Registrations …`): on a
    /// registrar they are read from its store; otherwise only their count is given.
    func statusLines(path: [String], user: String?) async -> [(path: String, value: String)] {
        let listed: [StatusLine]
        do {
            if path.first == "health" {
                // Readiness is asked often and without a token: no registration counted for it.
                listed = []
            } else if path.isEmpty || path.first == "registrations" {
                let found = try await registrations(user).filter { listing in user.map(listing.belongs(to:)) ?? true }
                listed = StatusLine.registrations(found, total: user == nil ? try await registrationCount() : found.count)
            } else {
                listed = [StatusLine("Registrations Count", String(try await registrationCount()))]
            }
        } catch {
            listed = [StatusLine("Registrations Error", "\"cannot read the registrations: \(error)\"")]
        }
        let history = path.isEmpty || path.first == "alarmhistory" ? StatusLine.alarmHistory(alarms.entries) : []
        let lines = await status() + history + listed + StatusLine.calls(calls.current, now: Date())
        return lines.map { ($0.path, $0.value) } + securityLines()
    }

    func run(command: String) async throws -> [String] {
        let words = command.split(whereSeparator: \.isWhitespace).map { $0.lowercased() }
        if words.starts(with: ["security", "unblock"]) {
            return try unblock(command, words: words)
        }
        if words.starts(with: ["alarms", "acknowledge"]) {
            return try acknowledge(command, words: words)
        }
        if words.first == "diagnosticlogging" {
            return try await diagnostics.cluster.run(command)
        }
        guard let (name, action) = actions.first(where: { $0.key.lowercased().split(separator: " ").map(String.init) == words }) else {
            throw UnknownCommandError(command: command, known: commands)
        }
        action()
        return ["*r \(name.replacingOccurrences(of: " ", with: ""))Result (status=OK)"]
    }

    /// `Alarms Acknowledge Number: N [By: NAME]` (the web UI gives the admin's name; else `cli`).
    private func acknowledge(_ command: String, words: [String]) throws -> [String] {
        guard words.count == 4 || (words.count == 6 && words[4] == "by:"), words[2] == "number:", let number = Int(words[3]) else {
            throw UnknownCommandError(command: command, known: commands)
        }
        let name = words.count == 6 ? String(command.split(whereSeparator: \.isWhitespace)[5]) : "cli"
        guard AdminAccountStore.isValidName(name) else {
            throw IntrusionCommandError(description: "xcommand Alarms Acknowledge: By: \(name) is not an admin name (letters, digits, '.', '-', '_')")
        }
        do {
            try alarms.acknowledge(number, by: name)
        } catch {
            throw IntrusionCommandError(description: "xcommand Alarms Acknowledge: \(error)")
        }
        return ["*r AlarmsAcknowledgeResult (status=OK): \(number)"]
    }

    private func unblock(_ command: String, words: [String]) throws -> [String] {
        guard words.count == 4, words[2] == "address:", let intrusion else {
            throw UnknownCommandError(command: command, known: commands)
        }
        let address = String(command.split(whereSeparator: \.isWhitespace)[3])
        guard AddressPrefix(address) != nil, !address.contains("/") else {
            throw IntrusionCommandError(description: "xcommand Security Unblock: \(address) is not an IP address")
        }
        guard intrusion.unblock(address) else {
            throw IntrusionCommandError(description: "xcommand Security Unblock: \(address) is not blocked; blocked: "
                + (intrusion.blocked.map(\.source).joined(separator: ", ").nonEmpty ?? "none"))
        }
        return ["*r SecurityUnblockResult (status=OK): \(address)"]
    }

    /// `Security IntrusionProtection: On|Off`, the exemptions, each category's rule (or `Off`),
    /// `Security Blocked Count: N`, and per blocked source its address, category and seconds left.
    private func securityLines() -> [(path: String, value: String)] {
        guard let intrusion else { return [] }
        let blocked = intrusion.blocked
        let now = NIODeadline.now()
        let policy = intrusion.policy
        var lines = [("Security IntrusionProtection", policy.enabled ? "On" : "Off"),
                     ("Security Exemptions", policy.exemptions.map(\.description).joined(separator: ", "))]
        for category in IntrusionCategory.allCases {
            let rule = policy.rules[category]
            lines.append(("Security \(category.rawValue)", rule.map {
                "TriggerLevel \($0.triggerLevel), DetectionWindow \($0.detectionWindow.components.seconds) s, "
                    + "BlockDuration \($0.blockDuration.components.seconds) s"
            } ?? "Off"))
        }
        lines.append(("Security Blocked Count", "\(blocked.count)"))
        for (index, block) in blocked.enumerated() {
            lines.append(("Security Blocked \(index + 1) Address", block.source))
            lines.append(("Security Blocked \(index + 1) Category", block.category.rawValue))
            lines.append(("Security Blocked \(index + 1) SecondsLeft", "\(max((block.until - now).nanoseconds / 1_000_000_000, 0))"))
        }
        return lines
    }
}

/// An `xcommand Security …` or `Alarms …` that cannot be done, saying why.
struct IntrusionCommandError: Error, CustomStringConvertible {
    var description: String
}

extension String {
    /// `nil` when empty.
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
