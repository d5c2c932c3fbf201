import Foundation
import Settings

/// What each page shows, read from the node's status lines and settings: the same data
/// `xstatus` and `xconfiguration` give (one implementation behind the API, the CLI and the UI).
enum WebPages {
    /// Registrations per page.
    static let pageSize = 50

    /// `"text"` → `text`.
    static func unquote(_ value: String) -> String {
        value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") ? String(value.dropFirst().dropLast()) : value
    }

    /// The alarms that hold now (`Alarms Alarm N Id|Description`).
    static func activeAlarms(_ lines: [(path: String, value: String)]) -> [[String: String]] {
        numbered(lines, "Alarms Alarm").map { row in Dictionary(uniqueKeysWithValues: row.map { ($0.key.lowercased(), $0.value) }) }
    }

    /// The fields of numbered status entries, `BRANCH ITEM N FIELD: value` → `[FIELD: value]` in
    /// order of N, values unquoted.
    static func numbered(_ lines: [(path: String, value: String)], _ prefix: String) -> [[String: String]] {
        var entries: [Int: [String: String]] = [:]
        for line in lines where line.path.hasPrefix(prefix + " ") {
            let words = line.path.split(separator: " ")
            guard words.count == 4, let number = Int(words[2]) else { continue }
            entries[number, default: [:]][String(words[3])] = unquote(line.value)
        }
        return entries.sorted { $0.key < $1.key }.map(\.value)
    }

    /// *Status > Overview*: the node, maintenance, registrations counted, active alarms, and every
    /// other status branch (links, registrars, flows, keepalives, calls, security) as a table.
    static func overview(_ lines: [(path: String, value: String)], maintenance: String) -> [String: Any] {
        let alarms = activeAlarms(lines)
        var sections: [(name: String, rows: [[String: String]])] = []
        for line in lines {
            let words = line.path.split(separator: " ", maxSplits: 1).map(String.init)
            guard let branch = words.first, !["Alarms", "Registrations"].contains(branch) else { continue }
            let row = ["name": words.count > 1 ? words[1] : branch, "value": unquote(line.value)]
            if sections.last?.name == branch { sections[sections.count - 1].rows.append(row) } else { sections.append((branch, [row])) }
        }
        return ["maintenance": maintenance, "registrationCount": lines.first { $0.path == "Registrations Count" }?.value ?? "?",
                "alarmCount": String(alarms.count), "alarms": alarms, "hasAlarms": !alarms.isEmpty,
                "sections": sections.map { ["name": $0.name, "rows": $0.rows] as [String: Any] }]
    }

    /// *Status > Unified Communications > Registrations*, one page of them.
    static func registrations(_ lines: [(path: String, value: String)], total: Int, offset: Int, search: String) -> [String: Any] {
        let listed = numbered(lines, "Registrations Registration").map { fields -> [String: String] in
            ["aor": fields["AOR"] ?? "", "device": fields["Device"] ?? "", "instance": fields["Instance"] ?? "",
             "regId": fields["RegId"] ?? "", "edge": fields["Edge"] ?? "", "flow": fields["Flow"] ?? "", "arsk": fields["ARSK"] ?? "",
             "lastKeepalive": fields["LastKeepalive"] ?? "", "rtt": fields["KeepaliveRTT"] ?? "", "expiresIn": fields["ExpiresIn"] ?? ""]
        }
        let query = search.isEmpty ? "" : "&user=" + (search.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        var page: [String: Any] = ["rows": listed, "search": search,
                                   "range": total == 0 ? "No registrations\(search.isEmpty ? "" : " for \(search)")."
                                       : "Registrations \(offset + 1)–\(offset + listed.count) of \(total)."]
        if offset > 0 { page["previous"] = "/status/registrations?offset=\(max(0, offset - pageSize))\(query)" }
        if offset + listed.count < total { page["next"] = "/status/registrations?offset=\(offset + pageSize)\(query)" }
        return page
    }

    /// *Status > Alarms*: every alarm since the start, newest first (`AlarmHistory Alarm N …`).
    static func alarmHistory(_ lines: [(path: String, value: String)]) -> [[String: String]] {
        numbered(lines, "AlarmHistory Alarm").map { fields in
            var row = Dictionary(uniqueKeysWithValues: fields.map { ($0.key.lowercased(), $0.value) })
            row["state"] = row["cleared"] == nil ? "Raised" : "Cleared"
            return row
        }
    }

    /// *Configuration > Unified Communications > Configuration > Advanced*: each `SIP Advanced`
    /// setting with its value, allowed values and, for the STUN keepalive toggle, each linked
    /// peer's value; a warning per peer whose value differs (SPEC B24).
    static func advanced(_ settings: Settings?, lines: [(path: String, value: String)]) -> [String: Any] {
        guard let settings, let values = try? settings.values(under: SettingPath(parsing: "SIP Advanced")) else {
            return ["settings": [] as [Any], "hasSettings": false]
        }
        let peers = linkedPeers(lines)
        var warnings: [String] = []
        var rows: [[String: Any]] = []
        for (path, value) in values {
            guard let definition = try? settings.catalog.definition(path) else { continue }
            let name = path.components.last ?? "\(path)"
            var row: [String: Any] = ["name": name, "field": name, "value": "\(value)", "summary": definition.summary,
                                      "allowed": definition.kind.allowedValues]
            if case .onOff = definition.kind {
                row["onOff"] = true
                row["choices"] = ["On", "Off"].map { ["value": $0, "selected": $0 == "\(value)"] as [String: Any] }
            } else if case .integer(_, let unit) = definition.kind {
                row["unit"] = unit
            }
            if path == SettingPath.stunKeepAliveEnabled {
                row["peers"] = peers.map { "\($0.name): \($0.keepalive)" }.joined(separator: ", ")
                for peer in peers where peer.keepalive != "\(value)" {
                    warnings.append("\(name) is \(value) here but \(peer.keepalive) on \(peer.name): phones get no AR_SK until both agree "
                                    + "(alarm keepalive-setting-mismatch).")
                }
            }
            rows.append(row)
        }
        return ["settings": rows, "hasSettings": !rows.isEmpty, "warnings": warnings]
    }

    /// The peers linked now and their keepalive setting (`Links Link N Peer|State|PeerStunKeepAlive`).
    private static func linkedPeers(_ lines: [(path: String, value: String)]) -> [(name: String, keepalive: String)] {
        numbered(lines, "Links Link").compactMap { fields in
            guard fields["State"] == "Up", let name = fields["Peer"], let keepalive = fields["PeerStunKeepAlive"] else { return nil }
            return (name, keepalive)
        }
    }
}
