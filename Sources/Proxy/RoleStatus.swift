/// A raised alarm (SPEC B24), as `xstatus Alarms` lists it.
public struct Alarm: Equatable, Sendable {
    /// A stable identifier, e.g. `keepalive-setting-mismatch`.
    public var id: String
    /// What is wrong and where.
    public var description: String

    /// Creates an alarm.
    public init(id: String, description: String) {
        self.id = id
        self.description = description
    }

    /// The mismatch alarms for the peers linked now: one per peer whose keepalive setting
    /// differs from `here`, sorted (SPEC B24). Edge and core raise them alike.
    static func keepaliveMismatches(here: Bool, linked peers: [TraversalInfo]) -> [Alarm] {
        peers.filter { $0.keepaliveEnabled != here }
            .map { keepaliveMismatch(here: here, peer: $0.node, there: $0.keepaliveEnabled) }
            .sorted { $0.description < $1.description }
    }

    /// A traversal link that is down, with why: both ends raise it.
    static func linkDown(peer: String, cause: String) -> Alarm {
        Alarm(id: "traversal-link-down", description: "traversal link with \(peer) is down: \(cause)")
    }

    /// This node in maintenance mode, and linked peers that are.
    static func maintenance(here: Bool, linked peers: [TraversalInfo]) -> [Alarm] {
        (here ? [Alarm(id: "maintenance-mode", description: "this node is in maintenance mode: new registrations and calls get 503")] : [])
            + peers.filter(\.maintenance).map {
                Alarm(id: "peer-maintenance", description: "\($0.node) is in maintenance mode: it takes no new registrations or calls")
            }
    }

    /// The alarm both ends of a link raise when their keepalive settings differ (SPEC B24).
    static func keepaliveMismatch(here: Bool, peer: String, there: Bool) -> Alarm {
        Alarm(id: "keepalive-setting-mismatch",
              description: "SIP Advanced StunKeepAliveForRegisteredPathEnabled is \(here ? "On" : "Off") here and "
                  + "\(there ? "On" : "Off") on \(peer): AR_SK is not advertised")
    }
}

/// One line of `xstatus`: a path and a value, printed as `*s PATH: VALUE`.
public struct StatusLine: Equatable, Sendable {
    /// The status path, e.g. `Links Link 1 State`.
    public var path: String
    /// The value, quoted when it is text.
    public var value: String

    /// Creates a line.
    public init(_ path: String, _ value: String) {
        self.path = path
        self.value = value
    }

    /// The lines of the alarms, numbered from 1.
    public static func alarms(_ alarms: [Alarm]) -> [StatusLine] {
        var lines = [StatusLine("Alarms Count", String(alarms.count))]
        for (index, alarm) in alarms.enumerated() {
            lines.append(StatusLine("Alarms Alarm \(index + 1) Id", "\"\(alarm.id)\""))
            lines.append(StatusLine("Alarms Alarm \(index + 1) Description", "\"\(alarm.description)\""))
        }
        return lines
    }
}

/// Why a connection of a role closed, as alarms and logs say it: `the peer closed the
/// connection`, or `the connection closed: certificate not trusted: …` with the transport's cause.
func closedCause(_ reason: String) -> String {
    reason == "closed by peer" ? "the peer closed the connection" : "the connection closed: \(reason)"
}
