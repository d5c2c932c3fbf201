import Foundation
import NIOCore
import SIPCore
import STUNCore

/// Reads a message log (SPEC B26) and an event log back into records.
enum MessageLogReader {
    /// Whether `text` looks like a message or event log of ours.
    static func recognises(_ text: Substring) -> Bool {
        text.prefix(4096).contains("UTCTime=\"") && text.prefix(4096).contains("Module=\"")
    }

    /// The SIP and STUN records of a message log. Lines that are not entries are skipped;
    /// a SIP message that does not parse is skipped too (a log cut short ends mid-message).
    static func traffic(_ text: String, node fallback: String) -> [TrafficRecord] {
        var records: [TrafficRecord] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            guard line.contains("Action=\""), let time = LogLine.time(of: line) else { continue }
            let fields = LogLine.fields(of: line)
            let received = fields["Action"] == "Received"
            let node = Self.node(of: line) ?? fallback
            let local = "\(fields["Local-ip"] ?? "?"):\(fields["Local-port"] ?? "0")"
            let remote = fields["Src-ip"] != nil ? "\(fields["Src-ip"]!):\(fields["Src-port"] ?? "0")" : "\(fields["Dst-ip"] ?? "?"):\(fields["Dst-port"] ?? "0")"
            let (source, destination) = received || fields["Action"] == "Closed" ? (remote, local) : (local, remote)
            let transport = fields["Transport"] ?? "?"
            if line.contains("Module=\"network.sip\"") {
                guard index < lines.count, lines[index] == "SIPMSG:" else { continue }
                index += 1
                var message = ""
                while index < lines.count, lines[index].first == "|" {
                    message += lines[index].dropFirst() + "\r\n"
                    index += 1
                }
                guard let parsed = try? SIPParser.parse(message) else { continue }
                records.append(TrafficRecord(time: time, node: node, source: source, destination: destination,
                                             transport: transport, payload: .sip(parsed), receivedByNode: received))
            } else if fields["Action"] == "Closed" {
                records.append(TrafficRecord(time: time, node: node, source: source, destination: destination,
                                             transport: transport, payload: .closed(reason: fields["Reason"] ?? "closed")))
            } else if let stun = fields["STUN"], let id = fields["Transaction-id"] {
                let type: STUNMessageType = stun.contains("success") ? .bindingSuccess : stun.contains("error") ? .bindingError : .bindingRequest
                records.append(TrafficRecord(time: time, node: node, source: source, destination: destination,
                                             transport: transport, payload: .stun(type, transactionID: id)))
            }
        }
        return records
    }

    /// The events of an event log (text lines; JSON lines too).
    static func events(_ text: String, node fallback: String) -> [EventRecord] {
        text.split(separator: "\n").compactMap { line -> EventRecord? in
            if line.first == "{", let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] {
                guard let event = object["event"], let stamp = object["time"], let time = ISO8601DateFormatter.withFractions.date(from: stamp) else {
                    return nil
                }
                return EventRecord(time: time, node: object["node"] ?? fallback, level: object["level"] ?? "info", event: event, fields: object)
            }
            guard let time = LogLine.time(of: line), line.contains("Event=\"") else { return nil }
            let fields = LogLine.fields(of: line)
            return EventRecord(time: time, node: node(of: line) ?? fallback, level: (fields["Level"] ?? "INFO").lowercased(),
                               event: fields["Event"] ?? "", fields: fields)
        }
    }

    /// The node a line names before ` edgeway:`.
    static func node(of line: Substring) -> String? {
        guard let range = line.range(of: " edgeway: ") else { return nil }
        return line[..<range.lowerBound].split(separator: " ").last.map(String.init)
    }
}

extension ISO8601DateFormatter {
    /// `2026-12-01T08:30:00.123Z`.
    nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
