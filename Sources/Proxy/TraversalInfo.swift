import Foundation
import SIPCore
import SIPStack

/// What each end of a traversal link tells the other (SPEC B1, B24), carried in the OPTIONS
/// heartbeat the core sends over the link and in the edge's 200 OK to it, and sent at once by
/// either end when something in it changes.
public struct TraversalInfo: Equatable, Sendable {
    /// The sender's node name (`edge-1`, `core-1`).
    public var node: String
    /// `SIP Advanced StunKeepAliveForRegisteredPathEnabled` on the sender.
    public var keepaliveEnabled: Bool
    /// Whether the sender is in maintenance mode.
    public var maintenance: Bool
    /// A core's registrars by name and whether each answers its keepalives (SPEC B12).
    public var registrars: [String: Bool]
    /// How often the core sends the heartbeat, in milliseconds (the edge declares the link down
    /// when none arrives for this long plus the timeout).
    public var heartbeatMilliseconds: Int64

    /// Creates the information.
    public init(node: String, keepaliveEnabled: Bool, maintenance: Bool = false, registrars: [String: Bool] = [:],
                heartbeatMilliseconds: Int64 = 0) {
        self.node = node
        self.keepaliveEnabled = keepaliveEnabled
        self.maintenance = maintenance
        self.registrars = registrars
        self.heartbeatMilliseconds = heartbeatMilliseconds
    }

    /// ``heartbeatMilliseconds`` as a duration.
    public var heartbeatInterval: Duration { .milliseconds(heartbeatMilliseconds) }

    /// Creates the information with the heartbeat interval as a duration (whole milliseconds on the wire).
    public init(node: String, keepaliveEnabled: Bool, maintenance: Bool = false, registrars: [String: Bool] = [:],
                heartbeatInterval: Duration) {
        self.init(node: node, keepaliveEnabled: keepaliveEnabled, maintenance: maintenance, registrars: registrars,
                  heartbeatMilliseconds: heartbeatInterval.wholeMilliseconds)
    }

    /// The header that carries it.
    public static let header: SIPHeaderName = "X-Edgeway-Traversal"

    /// `node=core-1;keepalive=on;maintenance=off;heartbeat=5000;registrars="reg-1=up,reg-2=down"`.
    public var headerValue: String {
        let registrarList = registrars.keys.sorted().map { "\($0)=\(registrars[$0]! ? "up" : "down")" }.joined(separator: ",")
        return "node=\(node);keepalive=\(keepaliveEnabled ? "on" : "off");maintenance=\(maintenance ? "on" : "off")"
            + ";heartbeat=\(heartbeatMilliseconds);registrars=\"\(registrarList)\""
    }

    /// Reads the information from a message, or `nil` when it carries none or it is unreadable.
    public init?(_ message: SIPMessage) {
        guard let value = message.headers[Self.header] else { return nil }
        var fields: [Substring: Substring] = [:]
        for field in value.split(separator: ";") {
            let parts = field.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            fields[parts[0].lowercased()[...]] = parts[1].trimmingCharacters(in: .init(charactersIn: "\""))[...]
        }
        guard let node = fields["node"], !node.isEmpty, let keepalive = fields["keepalive"] else { return nil }
        var registrars: [String: Bool] = [:]
        for entry in fields["registrars", default: ""].split(separator: ",") {
            let parts = entry.split(separator: "=")
            if parts.count == 2 { registrars[String(parts[0])] = parts[1] == "up" }
        }
        self.init(node: String(node), keepaliveEnabled: keepalive == "on", maintenance: fields["maintenance"] == "on",
                  registrars: registrars, heartbeatMilliseconds: Int64(fields["heartbeat"] ?? "") ?? 0)
    }
}
