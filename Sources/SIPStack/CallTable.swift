import Foundation
import NIOConcurrencyHelpers
import SIPCore
import SIPTransport

/// The calls a node's forwarder carries: dialogs (RFC 3261 §12) whose initial INVITE it forwarded
/// and saw answered 2xx, until a BYE for them passes either way (§15), a request within them is
/// answered 481 or 408 or gets no answer at all (§12.2.1.2: the dialog is gone), or they reach
/// ``maximumAge`` without either (a BYE that took another path). A node a call passes twice (a
/// core carrying both phones' sides) lists it once, with both pairs of legs. For `xstatus Calls`.
public final class CallTable: Sendable {
    /// One call as a node sees it.
    public struct Call: Sendable, Equatable {
        /// The dialog's Call-ID.
        public var callID: String
        /// The caller's and the callee's URIs (From and To of the INVITE).
        public var caller: String
        public var callee: String
        /// Each pass of the call through this node: the flow the INVITE came in on (`nil` when
        /// it started here) and the one it left on.
        public var legs: [Legs]
        /// When the first 2xx passed (wall clock).
        public var established: Date
    }

    /// One pass of a call through the node.
    public struct Legs: Sendable, Equatable {
        public var incoming: Flow?
        public var outgoing: Flow
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
    /// final answer (`nil`: none came, or not asked for, as for a BYE noted when it is sent): an
    /// initial INVITE answered 2xx starts a call; a BYE, a 481 or 408 to a request within a call,
    /// or no answer to one, ends it.
    func note(_ request: SIPMessage, incoming: Flow?, outgoing: Flow, response: SIPMessage?) {
        let method = request.requestLine?.method
        let status = response?.statusLine?.statusCode
        let starts = method == "INVITE" && status.map { (200..<300).contains($0) } == true
        let ends = method == "BYE" || status == 481 || status == 408 || (response == nil && method != "ACK" && method != "CANCEL")
        guard starts || ends, let callID = request.callID.map(String.init), let from = try? request.from(), let to = try? request.to(),
              let fromTag = from.parameters["tag"].map(String.init) else { return }
        let requestToTag = to.parameters["tag"].map(String.init)
        guard let toTag = requestToTag ?? response.flatMap({ try? $0.to().parameters["tag"] }).map(String.init) else { return }
        let key = ([callID] + [fromTag, toTag].sorted()).joined(separator: "\u{0}")
        if ends, requestToTag != nil {
            calls.withLockedValue { _ = $0.removeValue(forKey: key) }
        } else if starts, requestToTag == nil {
            let legs = Legs(incoming: incoming, outgoing: outgoing)
            calls.withLockedValue { calls in
                if calls[key] != nil {
                    if calls[key]?.legs.contains(legs) == false { calls[key]?.legs.append(legs) }
                    return
                }
                if calls.count >= Self.capacity, let oldest = calls.min(by: { $0.value.established < $1.value.established }) {
                    calls.removeValue(forKey: oldest.key)
                }
                calls[key] = Call(callID: callID, caller: String(from.uriText), callee: String(to.uriText), legs: [legs], established: clock())
            }
        }
    }
}
