import Foundation
import NIOConcurrencyHelpers
import SIPStack

/// Diagnostic logging for the whole cluster from any node (SPEC B25): `xcommand DiagnosticLogging
/// Start [TakeTcpdump: On]`, `Marker Text: "…"`, `Stop`, `Collect`, `Status`.
///
/// A command is done here and handed to every peer this node knows (``ClusterPeers``), each of
/// which does it and hands it on to the peers it knows that were not reached yet: an edge reaches
/// its cores, a core its edges and registrars. `Collect` brings every node's folder back to this
/// node as one bundle, `DATA/diagnostics/ID.tar.gz`: a folder per node and `cluster.txt`, which
/// lists each node and what happened to it (a node that could not be reached is named there,
/// with the cause).
public final class ClusterDiagnostics: Sendable {
    /// The node's own diagnostic logging.
    public let logging: DiagnosticLogging
    private let peers: ClusterPeers
    private let caps: DiagnosticCaps
    private let lastBundle = NIOLockedValueBox<URL?>(nil)

    /// Creates the cluster-wide commands of a node.
    public init(logging: DiagnosticLogging, peers: ClusterPeers, caps: DiagnosticCaps = .init()) {
        self.logging = logging
        self.peers = peers
        self.caps = caps
    }

    /// The commands, as `xcommand` lists them.
    public static let commands = ["DiagnosticLogging Start TakeTcpdump: On|Off", "DiagnosticLogging Marker Text: TEXT",
                                  "DiagnosticLogging Stop", "DiagnosticLogging Collect", "DiagnosticLogging Download", "DiagnosticLogging Status"]

    /// The bundle of the last diagnostic log, once this node collected it (`nil` before, and
    /// while a later log has not been collected: an older bundle is not handed out for it).
    public var bundle: URL? {
        guard let bundle = lastBundle.withLockedValue({ $0 }), let id = logging.status?.id,
              bundle.lastPathComponent == "\(id).tar.gz" else { return nil }
        return bundle
    }

    /// Runs an operator's `DiagnosticLogging …` command and returns the lines to print.
    ///
    /// - Throws: ``DiagnosticsError`` `.refused` naming the cause (a log runs already, none runs,
    ///   an unknown word).
    public func run(_ command: String) async throws -> [String] {
        let words = command.split(whereSeparator: \.isWhitespace).map(String.init)
        let verb = words.dropFirst().first?.lowercased() ?? ""
        let arguments = words.dropFirst(2).joined(separator: " ")
        switch verb {
        case "start":
            let tcpdump = try Self.onOff(arguments, key: "TakeTcpdump")
            if let running = logging.status, running.running {
                throw DiagnosticsError(.refused, "xcommand DiagnosticLogging Start: a diagnostic log is already running (\(running.id) on "
                    + "\(logging.node)); stop it first with xcommand DiagnosticLogging Stop")
            }
            let id = "diagnostic-" + LogLine.stamps(Date()).iso.filter(\.isNumber).prefix(17)
            let answer = await relay(RelayRequest(command: .start, id: id, tcpdump: tcpdump, visited: []))
            return Self.lines("Start", answer.outcomes, extra: ["Log: \"\(id)\"", "TakeTcpdump: \(tcpdump ? "On" : "Off")"])
        case "marker":
            guard arguments.lowercased().hasPrefix("text:") else {
                throw DiagnosticsError(.refused, "xcommand DiagnosticLogging Marker: give the marker as Text: \"words\"")
            }
            let text = arguments.dropFirst(5).trimmingCharacters(in: CharacterSet(charactersIn: " \""))
            let id = try currentID()
            let outcomes = await relay(RelayRequest(command: .marker, id: id, text: text, visited: [])).outcomes
            // Marked nowhere (the log has stopped on every node): the operator must hear it failed.
            guard outcomes.contains(where: { $0.ok && !$0.detail.hasPrefix("not marked") }) || outcomes.contains(where: { !$0.ok }) else {
                throw DiagnosticsError(.refused, "xcommand DiagnosticLogging Marker: \(id) is not running on any node "
                                       + "(\(outcomes.first?.detail ?? "stopped")): start a new log first")
            }
            return Self.lines("Marker", outcomes, extra: [])
        case "stop":
            let id = try currentID()
            return Self.lines("Stop", await relay(RelayRequest(command: .stop, id: id, visited: [])).outcomes, extra: ["Log: \"\(id)\""])
        case "collect":
            let id = try currentID()
            let (url, outcomes) = try await collect(id)
            return Self.lines("Collect", outcomes, extra: ["Log: \"\(id)\"", "Bundle: \"\(url.path)\""])
        case "download":
            throw DiagnosticsError(.refused, "xcommand DiagnosticLogging Download is the CLI's: edgeway xcommand DiagnosticLogging Download "
                + "--output FILE (or GET /api/diagnostics/bundle)")
        case "status":
            let status = logging.status
            var lines = ["*s DiagnosticLogging Log: \"\(status?.id ?? "none")\"",
                         "*s DiagnosticLogging State: \(status.map { $0.running ? "Running" : "Stopped" } ?? "Idle")"]
            if let reason = status?.stopReason { lines.append("*s DiagnosticLogging StopReason: \"\(reason)\"") }
            lines.append("*s DiagnosticLogging Peers: \"\(peers.known.map(\.name).joined(separator: ", "))\"")
            if let bundle { lines.append("*s DiagnosticLogging Bundle: \"\(bundle.path)\"") }
            return lines
        default:
            throw DiagnosticsError(.refused, "xcommand \(command): unknown command; allowed: \(Self.commands.joined(separator: ", "))")
        }
    }

    /// A peer's request (`POST /api/cluster`, JSON): done here and handed on; the JSON answer.
    public func peerRequest(_ body: Data) async throws -> Data {
        guard let request = try? JSONDecoder().decode(RelayRequest.self, from: body) else {
            throw DiagnosticsError(.badInput, "not a diagnostic-log relay request")
        }
        // The id names folders here: only the shape this node makes, nothing that leaves them.
        guard Self.isLogID(request.id) else {
            throw DiagnosticsError(.badInput, "not a diagnostic log id: \(request.id.prefix(40)) (expected diagnostic-YYYYMMDDHHMMSS)")
        }
        return try JSONEncoder().encode(await relay(request))
    }

    /// Does `request` here, then hands it to each known peer not yet reached, one after another:
    /// a peer is told which nodes are reached or about to be asked, so none is asked twice.
    private func relay(_ request: RelayRequest) async -> RelayAnswer {
        let (mine, archive) = await local(request)
        var outcomes = [mine.node: mine]
        var archives = archive.map { [mine.node: $0] } ?? [:]
        var reached = Set(request.visited + [logging.node])
        let known = peers.known
        let own = peers.local?.admin
        for peer in known where !reached.contains(peer.name) && peer.admin != own {
            var onward = request
            onward.visited = Array(reached.union(known.map(\.name)).subtracting([peer.name])).sorted()
            let answer = await ClusterRelay.send(onward, to: peer)
            for outcome in answer.outcomes where outcomes[outcome.node]?.ok != true { outcomes[outcome.node] = outcome }
            archives.merge(answer.archives) { first, _ in first }
            reached.formUnion(answer.outcomes.map(\.node) + [peer.name])
        }
        return RelayAnswer(outcomes: outcomes.values.sorted { $0.node < $1.node }, archives: archives)
    }

    /// The command on this node.
    private func local(_ request: RelayRequest) async -> (NodeOutcome, archive: String?) {
        let node = logging.node
        do {
            switch request.command {
            case .start:
                if let status = logging.status, status.id == request.id, status.running {
                    return (NodeOutcome(node: node, ok: true, detail: "running"), nil)
                }
                try await logging.start(id: request.id, tcpdump: request.tcpdump, caps: caps)
                return (NodeOutcome(node: node, ok: true, detail: "started"), nil)
            case .marker:
                if let status = logging.status, status.id == request.id, !status.running {
                    return (NodeOutcome(node: node, ok: true, detail: "not marked: its log \(status.stopReason ?? "stopped")"), nil)
                }
                try logging.marker(request.text ?? "")
                return (NodeOutcome(node: node, ok: true, detail: "marked"), nil)
            case .stop:
                if let status = logging.status, status.id == request.id, !status.running {
                    return (NodeOutcome(node: node, ok: true, detail: "already stopped: \(status.stopReason ?? "stopped")"), nil)
                }
                let status = try await logging.stop(id: request.id)
                return (NodeOutcome(node: node, ok: true, detail: status.stopReason ?? "stopped"), nil)
            case .collect:
                let folder = logging.folder.appendingPathComponent(request.id)
                guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(node).path) else {
                    return (NodeOutcome(node: node, ok: false, detail: "it has no diagnostic log \(request.id)"), nil)
                }
                if logging.status?.id == request.id, logging.status?.running == true { try await logging.stop(id: request.id) }
                let archive = folder.appendingPathComponent("\(node).tar.gz")
                try await Tar.create(archive, from: folder, entries: [node])
                defer { try? FileManager.default.removeItem(at: archive) }
                return (NodeOutcome(node: node, ok: true, detail: "collected"), try Data(contentsOf: archive).base64EncodedString())
            }
        } catch {
            return (NodeOutcome(node: node, ok: false, detail: "\(error)"), nil)
        }
    }

    /// Collects every node's folder of log `id` into `DATA/diagnostics/ID.tar.gz`.
    private func collect(_ id: String) async throws -> (URL, [NodeOutcome]) {
        let answer = await relay(RelayRequest(command: .collect, id: id, visited: []))
        let staging = logging.folder.appendingPathComponent(".collect-\(id)")
        try? FileManager.default.removeItem(at: staging)
        defer { try? FileManager.default.removeItem(at: staging) }
        let root = staging.appendingPathComponent(id)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var outcomes = answer.outcomes
        for (node, text) in answer.archives {
            guard Self.isNodeName(node), let data = Data(base64Encoded: text) else { continue }
            let file = staging.appendingPathComponent("\(node).tar.gz")
            do {
                try data.write(to: file)
                try await Tar.extract(file, into: root)
            } catch {
                // One node's unreadable archive is that node missing, not the whole bundle lost.
                outcomes = outcomes.map { $0.node == node ? NodeOutcome(node: node, ok: false, detail: "its archive is unreadable: \(error)") : $0 }
            }
        }
        var summary = "log: \(id)\ncollected by: \(logging.node)\ncollected: \(LogLine.stamps(Date()).iso)\n"
        for outcome in outcomes {
            let line = "node \(outcome.node): \(outcome.ok ? "collected" : "missing: \(outcome.detail)")"
            summary += String(line.map { $0.isNewline ? " " : $0 }) + "\n"
        }
        try summary.write(to: root.appendingPathComponent("cluster.txt"), atomically: true, encoding: .utf8)
        let bundle = logging.folder.appendingPathComponent("\(id).tar.gz")
        try await Tar.create(bundle, from: staging, entries: [id])
        lastBundle.withLockedValue { $0 = bundle }
        return (bundle, outcomes)
    }

    /// The log a command acts on: the last one started here (it may have stopped here, at its
    /// cap, and still run elsewhere).
    private func currentID() throws -> String {
        guard let status = logging.status else {
            throw DiagnosticsError(.refused, "no diagnostic log has been started on \(logging.node): start one with xcommand DiagnosticLogging Start")
        }
        return status.id
    }

    /// `diagnostic-` and 17 digits (UTC to the millisecond), as ``run(_:)`` makes them.
    static func isLogID(_ id: String) -> Bool {
        id.hasPrefix("diagnostic-") && id.count == 28 && id.dropFirst(11).allSatisfy(\.isASCII) && id.dropFirst(11).allSatisfy(\.isNumber)
    }

    /// A node name fit for a folder: letters, digits, `-`, `_` and `.`, not `.` or `..`.
    static func isNodeName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "-_.".unicodeScalars.contains($0) }
    }

    /// `On` or `Off` after `KEY:` (absent: Off).
    static func onOff(_ arguments: String, key: String) throws -> Bool {
        let text = arguments.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return false }
        let parts = text.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard parts.count == 2, parts[0] == key.lowercased(), ["on", "off"].contains(parts[1]) else {
            throw DiagnosticsError(.refused, "xcommand DiagnosticLogging Start: expected \(key): On or \(key): Off, not \"\(text)\"")
        }
        return parts[1] == "on"
    }

    /// `*r DiagnosticLoggingStartResult (status=OK):` then the extra lines and a line per node;
    /// `status=Error` when a node failed.
    static func lines(_ verb: String, _ outcomes: [NodeOutcome], extra: [String]) -> [String] {
        let failed = outcomes.filter { !$0.ok }
        var lines = ["*r DiagnosticLogging\(verb)Result (status=\(failed.isEmpty ? "OK" : "Error")):"]
        lines += extra.map { "*r DiagnosticLogging\(verb)Result \($0)" }
        lines += outcomes.map { "*r DiagnosticLogging\(verb)Result Node \($0.node): \($0.ok ? "" : "failed: ")\($0.detail)" }
        return lines
    }
}
