import Foundation

/// Reads what `edgeway diagnose` is given: a bundle (`.tar.gz` of node folders), a pcap, or a
/// message log.
enum EvidenceLoader {
    /// - Throws: ``DiagnosticsError`` `.badInput` naming what is wrong: no such file, not a
    ///   capture, a log or a bundle; a capture cut short; a tar without node folders.
    static func load(_ path: String) async throws -> Evidence {
        var folder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &folder) else {
            throw DiagnosticsError(.badInput, "cannot read \(path): no such file")
        }
        guard !folder.boolValue else {
            throw DiagnosticsError(.badInput, "\(path) is a folder: give the bundle (.tar.gz), a capture or a node's message.log")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DiagnosticsError(.badInput, "cannot read \(path): permission denied")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        if data.starts(with: [0x1F, 0x8B]) { return try await bundle(path) }
        if PCAPReader.recognises(data) || data.starts(with: [0x0A, 0x0D, 0x0D, 0x0A]) {
            do {
                return Evidence(traffic: try PCAPReader.traffic(data, node: name), nodes: [name])
            } catch let error as DiagnosticsError {
                throw DiagnosticsError(error.code, path + error.detail.dropFirst(name.count))
            }
        }
        let text = String(decoding: data, as: UTF8.self)
        guard !data.isEmpty, MessageLogReader.recognises(text[...]) else {
            throw DiagnosticsError(.badInput, "\(path) is not a pcap capture, an Edgeway message log or a diagnostic bundle (.tar.gz)"
                + (data.isEmpty ? ": it is empty" : ""))
        }
        guard text.contains("Module=\"network.") else {
            throw DiagnosticsError(.badInput, "\(path) is an event log, not a message log: give the bundle (.tar.gz), a capture, "
                + "or logs/message.log (written while xconfiguration Logging Module network.sip Level is Debug)")
        }
        return Evidence(traffic: MessageLogReader.traffic(text, node: name), events: MessageLogReader.events(text, node: name), nodes: [name])
    }

    /// A bundle's file, read only when it is a regular file (not a link, a pipe or a device, which
    /// a bundle from elsewhere might hold) of at most 2 GiB; `nil` when absent.
    ///
    /// - Throws: ``DiagnosticsError`` `.badInput` for anything else in its place.
    private static func contents(of url: URL) throws -> Data? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else { return nil }
        guard attributes[.type] as? FileAttributeType == .typeRegular else {
            throw DiagnosticsError(.badInput, "\(url.lastPathComponent) in the bundle is not a regular file")
        }
        guard (attributes[.size] as? Int ?? 0) <= 2 << 30 else {
            throw DiagnosticsError(.badInput, "\(url.lastPathComponent) in the bundle is larger than 2 GiB")
        }
        return FileManager.default.contents(atPath: url.path)
    }

    private static func text(of url: URL) throws -> String? {
        try contents(of: url).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The alarms an `xstatus` snapshot lists (`*s Alarms Alarm 1 Id: "…"`), as `alarm active` events.
    static func activeAlarms(_ text: String, node: String, at time: Date) -> [EventRecord] {
        var ids: [String: String] = [:], descriptions: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("*s Alarms Alarm ") {
            let words = line.dropFirst("*s Alarms Alarm ".count).split(separator: " ", maxSplits: 2)
            guard words.count == 3 else { continue }
            let value = words[2].trimmingCharacters(in: CharacterSet(charactersIn: " \""))
            if words[1] == "Id:" { ids[String(words[0])] = value }
            if words[1] == "Description:" { descriptions[String(words[0])] = value }
        }
        return ids.sorted { $0.key < $1.key }.map { index, id in
            EventRecord(time: time, node: node, level: "warning", event: "alarm active",
                        fields: ["alarm": id, "description": descriptions[index] ?? ""])
        }
    }

    /// A bundle: per node folder its message log (else its capture) and its event log;
    /// `cluster.txt` says which nodes are missing.
    private static func bundle(_ path: String) async throws -> Evidence {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-diagnose-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            try await Tar.extract(URL(fileURLWithPath: path), into: folder)
        } catch let error as DiagnosticsError {
            throw DiagnosticsError(.badInput, "\(path) is not a readable diagnostic bundle: \(error.detail)")
        }
        let manager = FileManager.default
        var evidence = Evidence()
        let roots = ((try? manager.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []).filter { $0.hasDirectoryPath }
        for root in roots {
            if let summary = try text(of: root.appendingPathComponent("cluster.txt")) {
                for line in summary.split(separator: "\n") where line.hasPrefix("node ") && line.contains(": missing: ") {
                    let parts = line.dropFirst(5).components(separatedBy: ": missing: ")
                    evidence.missing[parts[0]] = parts.dropFirst().joined(separator: ": missing: ")
                }
            }
            for node in ((try? manager.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)) ?? []).filter(\.hasDirectoryPath) {
                let name = node.lastPathComponent
                let messageLog = node.appendingPathComponent("message.log"), capture = node.appendingPathComponent("capture.pcap")
                if let text = try text(of: messageLog) {
                    evidence.traffic += MessageLogReader.traffic(text, node: name)
                } else if let data = try contents(of: capture) {
                    evidence.traffic += try PCAPReader.traffic(data, node: name)
                } else {
                    continue
                }
                if let text = try text(of: node.appendingPathComponent("event.log")) {
                    evidence.events += MessageLogReader.events(text, node: name)
                }
                for snapshot in ["xstatus-start.txt", "xstatus-stop.txt"] {
                    guard let text = try text(of: node.appendingPathComponent(snapshot)) else { continue }
                    evidence.events += activeAlarms(text, node: name, at: evidence.traffic.first?.time ?? Date(timeIntervalSince1970: 0))
                }
                evidence.nodes.append(name)
            }
        }
        guard !evidence.nodes.isEmpty else {
            throw DiagnosticsError(.badInput, "\(path) holds no Edgeway node folders (ID/NODE/message.log or ID/NODE/capture.pcap): "
                + "not a diagnostic bundle")
        }
        var seen = Set<String>()
        evidence.events = evidence.events.filter { $0.event != "alarm active" || seen.insert("\($0.node)|\($0.fields["alarm"] ?? "")").inserted }
        evidence.traffic.sort { $0.time < $1.time }
        evidence.events.sort { $0.time < $1.time }
        evidence.nodes.sort()
        return evidence
    }
}
