import Foundation
import NIOConcurrencyHelpers
import SIPCore
import SIPTransport

/// The calls a node's forwarder carries: dialogs (RFC 3261 §12) whose initial INVITE it forwarded
/// and saw answered 2xx, until a BYE for them passes either way (§15), an in-dialog request is
/// answered 481 or 408 (§12.2.1.2), or they reach ``maximumAge`` without either (a BYE that took
/// another path, a phone that vanished). For `xstatus Calls` on every role.
public final class CallTable: Sendable {
    /// One call as a node sees it.
    public struct Call: Sendable, Equatable {
        /// The dialog's Call-ID.
        public var callID: String
        /// The caller's and the callee's URIs (From and To of the INVITE).
        public var caller: String
        public var callee: String
        /// The leg the INVITE came in on (`nil` when it started here) and the one it left on.
        public var incoming: Flow?
        public var outgoing: Flow
        /// When the 2xx passed (wall clock).
        public var established: Date
        fileprivate var tags: Set<String>
    }

    /// How long a call without a BYE stays listed: 12 hours.
    public static let maximumAge: TimeInterval = 12 * 3_600
    /// The most calls listed; the oldest go first beyond it.
    public static let capacity = 100_000

    private let calls = NIOLockedValueBox<[String: Call]>([:])
    private let clock: @Sendable () -> Date

    /// An empty table; `clock` gives the wall time (injected in tests).
    public init(clock: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = clock
    }

    /// The calls now, oldest first.
    public var current: [Call] {
        let now = clock()
        return calls.withLockedValue { calls in
            calls = calls.filter { now.timeIntervalSince($0.value.established) < Self.maximumAge }
            return calls.values.sorted { ($0.established, $0.callID) < ($1.established, $1.callID) }
        }
    }

    /// `request` was forwarded on `outgoing` (having come in on `incoming`) and `response` is its
    /// final answer: an initial INVITE answered 2xx starts a call; a BYE, or a 481 or 408 to any
    /// request within a call, ends it.
    func note(_ request: SIPMessage, incoming: Flow?, outgoing: Flow, response: SIPMessage?) {
        guard let callID = request.callID.map(String.init), let from = try? request.from(), let to = try? request.to(),
              let fromTag = from.parameters["tag"].map(String.init) else { return }
        let method = request.requestLine?.method
        let status = response?.statusLine?.statusCode ?? 0
        let toTag = to.parameters["tag"].map(String.init) ?? response.flatMap { try? $0.to().parameters["tag"] }.map(String.init)
        guard let toTag else { return }
        let key = Self.key(callID: callID, tags: [fromTag, toTag])
        if method == "BYE" || status == 481 || status == 408 {
            calls.withLockedValue { _ = $0.removeValue(forKey: key) }
        } else if method == "INVITE", to.parameters["tag"] == nil, (200..<300).contains(status) {
            let call = Call(callID: callID, caller: String(from.uriText), callee: String(to.uriText), incoming: incoming,
                            outgoing: outgoing, established: clock(), tags: [fromTag, toTag])
            calls.withLockedValue { calls in
                if calls.count >= Self.capacity, let oldest = calls.min(by: { $0.value.established < $1.value.established }) {
                    calls.removeValue(forKey: oldest.key)
                }
                calls[key] = call
            }
        }
    }

    private static func key(callID: String, tags: Set<String>) -> String {
        ([callID] + tags.sorted()).joined(separator: "\u{0}")
    }
}
