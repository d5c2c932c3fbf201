import SIPCore
import SIPTransaction

/// Forking (RFC 3261 §16.6–§16.7, RFC 5626 §7): an INVITE for an address of record registered by
/// several instances goes to all of them at once, one flow per instance; the answers meet in a
/// response context that relays provisionals, relays every 2xx at once and cancels the other
/// branches, and otherwise answers with the best final response when every branch has one.
extension RegistrarStateMachine {
    /// The answers of one forked INVITE so far.
    struct ResponseContext: Sendable {
        /// Branches without a final response.
        var pending: Set<Int>
        /// Final responses of the branches that ended without a 2xx.
        var finals: [SIPMessage] = []
        /// A 2xx or a 6xx came: the other branches were cancelled and no new one opens (§16.7 step 10).
        var decided = false
        /// A 2xx went upstream: no other final follows it.
        var answered = false
    }

    /// Whether the request of `pending` may still go to another flow: not once its INVITE was
    /// cancelled upstream, nor once its fork is decided (RFC 3261 §16.7 step 10, §16.10).
    func mayOpenBranch(_ pending: PendingProxy) -> Bool {
        if let branch = pending.upstreamBranch, cancelledInvites.contains(String(branch)) { return false }
        if let fork = pending.fork, forks[fork]?.decided == true { return false }
        return true
    }

    /// Opens a response context for `branches` branches and returns its id.
    mutating func openFork(branches: Int) -> UInt64 {
        defer { nextFork += 1 }
        forks[nextFork] = ResponseContext(pending: Set(0..<branches))
        return nextFork
    }

    /// A response on a branch of a forked INVITE (§16.7): what goes upstream.
    mutating func forkedResponse(_ response: SIPMessage, status: Int, for pending: PendingProxy, fork id: UInt64) -> [Action] {
        guard var context = forks[id] else { return [] }
        defer { forks[id] = context.pending.isEmpty ? nil : context }
        switch status {
        case 101..<200:
            return context.decided ? [] : [.respond(response)]
        case 200..<300:
            // Step 5: every 2xx goes upstream at once; step 10: the other branches are cancelled.
            context.pending.remove(pending.branch)
            let first = !context.decided
            context.decided = true
            context.answered = true
            return [.respond(response)] + (first ? cancelOthers(pending) : [])
        default:
            context.pending.remove(pending.branch)
            context.finals.append(response)
            var actions: [Action] = []
            if status >= 600, !context.decided {
                context.decided = true
                actions += cancelOthers(pending)
            }
            guard context.pending.isEmpty, !context.answered, let best = Self.best(context.finals) else { return actions }
            return actions + [.respond(best.statusLine?.statusCode == 503
                ? answer(pending.request, 500, "Server Internal Error (downstream 503)") : best)]
        }
    }

    /// A branch ended without a response worth relaying: `status` (480 when no flow of its
    /// instance is left, RFC 5626 §5.3; 487 when cancelled) counts as its final.
    mutating func forkedBranchFailed(_ pending: PendingProxy, fork id: UInt64, status: Int = 480, reason: String) -> [Action] {
        forkedResponse(answer(pending.request, status, reason), status: status, for: pending, fork: id)
    }

    private func cancelOthers(_ pending: PendingProxy) -> [Action] {
        pending.upstreamBranch.map { [.cancelBranches(upstreamBranch: $0)] } ?? []
    }

    /// §16.7 step 6: a 6xx if any; else the lowest class (3xx before 4xx before 5xx), the first to
    /// arrive within it.
    static func best(_ finals: [SIPMessage]) -> SIPMessage? {
        if let global = finals.first(where: { ($0.statusLine?.statusCode ?? 0) >= 600 }) { return global }
        return finals.min { ($0.statusLine?.statusCode ?? 999) / 100 < ($1.statusLine?.statusCode ?? 999) / 100 }
    }
}

/// A set of texts that keeps at most `limit`, forgetting the oldest first.
struct BoundedSet: Sendable {
    private var members: Set<String> = []
    private var order: [String] = []
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func contains(_ member: String) -> Bool { members.contains(member) }

    mutating func insert(_ member: String) {
        guard members.insert(member).inserted else { return }
        order.append(member)
        if order.count > limit { members.remove(order.removeFirst()) }
    }
}
