import Foundation

/// What `edgeway diagnose` found (SPEC B27): a report per phone and one for the cluster. Its JSON
/// form (`--json`) carries the same as the text.
public struct DiagnosisReport: Codable, Sendable {
    /// One phone: who it is, what happened to it, and the verdict with its evidence.
    public struct Phone: Codable, Sendable {
        public var aor: String
        public var device: String?
        public var instance: String?
        /// `healthy`, `failed over`, `refused`, `no AR_SK`, `keepalives withheld`, `keepalive timeouts`,
        /// `not registered`.
        public var state: String
        /// One line, e.g. `failed over 1×: edge-1 → edge-2 after keepalive timeout; re-registered in 3.6 s`.
        public var verdict: String
        public var arsk: ARSK
        public var registrations: [Registration]
        public var refusals: [Refusal]
        public var keepalives: Keepalives
        public var failovers: [Failover]
        /// Message times and Call-IDs behind the verdict.
        public var evidence: [String]
    }

    /// AR_SK (keepalive failover) as offered and granted.
    public struct ARSK: Codable, Sendable {
        public var offered: Bool
        public var accepted: Bool
        /// Why not, when offered and not accepted (`StunKeepAliveForRegisteredPathEnabled is Off on edge-1`).
        public var reason: String?
    }

    /// A REGISTER the phone sent and its final answer.
    public struct Registration: Codable, Sendable {
        public var time: String
        public var edge: String
        public var callID: String
        public var status: Int?
        public var arskGranted: Bool
        /// An un-REGISTER (Expires 0): the phone removing its binding.
        public var removal: Bool
    }

    /// A REGISTER refused (a 401 only when challenges loop).
    public struct Refusal: Codable, Sendable {
        public var time: String
        public var status: Int
        public var reason: String
        /// The node that answered so (the first to send it), or the address in a plain capture.
        public var hop: String
        public var callID: String
    }

    /// The phone's STUN keepalives as its edges saw them.
    public struct Keepalives: Codable, Sendable {
        public var sent: Int
        public var answered: Int
        /// Answered share, 0…1.
        public var answeredShare: Double
        /// Median time between keepalives on one connection, in seconds.
        public var intervalSeconds: Double?
        /// Answer times in milliseconds (as seen where captured: at an edge, its own answer time).
        public var rttP50Milliseconds: Double?
        public var rttP99Milliseconds: Double?
        /// Requests with no answer within 3 s.
        public var timeouts: Int
        /// Requests the edge withheld, by reason (`registrar unreachable`: 4).
        public var withheld: [String: Int]
    }

    /// A move from one edge to another.
    public struct Failover: Codable, Sendable {
        public var from: String
        public var to: String
        /// `keepalive timeout (…)`, `keepalive withheld by edge-1: registrar unreachable`, `STUN error (…)`,
        /// `connection closed (reason)`.
        public var cause: String
        /// When the failure began: the first of the keepalives that failed before the move (sent
        /// then), the connection's end, or when the first missing keepalive was due.
        public var detectedAt: String?
        /// From then to the 200 OK through the new edge, in seconds.
        public var reregisteredInSeconds: Double?
        /// Whether it waited for a call to end (SPEC B9).
        public var deferredByCall: Bool
    }

    /// The whole cluster.
    public struct Cluster: Codable, Sendable {
        public var verdict: String
        public var nodes: [String]
        /// Nodes the bundle could not collect, with the cause.
        public var missing: [String: String]
        /// Alarms raised in the event logs (`edge-1: keepalive-setting-mismatch: …`).
        public var alarms: [String]
    }

    public var phones: [Phone]
    public var cluster: Cluster
}
