import Foundation
import Phone

/// What the registrar-loss scenario saw (SPEC B35: a registrar's loss costs no failover).
public struct RegistrarLossReport: Sendable {
    /// Phones in the run, the bindings kept for them at the end, and the phones without exactly one.
    public var phones: Int
    public var bindings: Int
    public var misbound: [String]
    /// Phones whose edge failed, or that ended on another edge, during the run: 0 to pass.
    public var failedOver: Int
    /// Calls placed right after the kill, after the loss was detected, and through the restarted
    /// registrar alone (the other one killed), and how many of each were answered.
    public var calls: [(when: String, placed: Int, answered: Int)]

    /// No phone failed over, every binding is there and every call was answered.
    public var passed: Bool {
        failedOver == 0 && misbound.isEmpty && calls.allSatisfy { $0.placed > 0 && $0.answered == $0.placed }
    }

    /// The verdict (each phase's calls are reported as they end).
    public var summary: String {
        "phones \(phones), bindings \(bindings), failed over \(failedOver); \(passed ? "passed" : "FAILED")"
            + (misbound.isEmpty ? "" : "\nnot bound exactly once: \(misbound.prefix(20).joined(separator: ", "))")
    }
}

extension LabPhones {
    /// Kills the first registrar of a cluster (`kill -9` with `--processes`), the one the cores
    /// prefer and so the one every phone registered through; places calls between phones right
    /// away and again after `hold`; restarts it, kills the second so that the restarted one
    /// serves alone, places calls again, and heals the second. Passes when no phone failed over,
    /// no binding was lost and every call was answered.
    public func registrarLoss(lab: LabDeployment, hold: Duration, say: @escaping @Sendable (String) -> Void) async throws -> RegistrarLossReport {
        let names = lab.registrarNames
        guard names.count >= 2, phones.count >= 6 else {
            throw NodeConfigurationError(path: "lab", key: "--scenario", problem: "registrar-loss needs --registrars 2 (or more) and --phones 6 or more")
        }
        let (victim, other) = (names[0], names[1])
        let edges = phones.map(\.registeredEdge)
        let failedBefore = records.withLockedValue { $0.filter { $0.failedAt != nil }.count }
        let pairs = min(10, phones.count / 6)
        var report = RegistrarLossReport(phones: phones.count, bindings: 0, misbound: [], failedOver: 0, calls: [])

        func kill(_ name: String) -> String {
            lab.pid(of: name).map { "kill -9 \(name) (pid \($0))" } ?? "stop \(name)"
        }
        func calls(_ when: String, _ range: Range<Int>) async {
            let answered = await placeCalls(pairs: range)
            report.calls.append((when, range.count, answered))
            say("calls \(when): \(answered)/\(range.count) answered")
        }
        say(kill(victim))
        try await lab.fail(victim, mode: .kill)
        await calls("right after the kill", 0..<pairs)
        say("holding \(victim) down for \(hold)")
        try await Task.sleep(for: hold)
        await calls("with \(victim) down for \(hold)", pairs..<(2 * pairs))

        try await lab.heal(victim)
        try await lab.waitUntilLinked()
        say("\(victim) restarted\(lab.pid(of: victim).map { " (pid \($0))" } ?? "") and reachable; \(kill(other)) so that \(victim) serves alone")
        try await lab.fail(other, mode: .kill)
        await calls("through the restarted \(victim) alone", (2 * pairs)..<(3 * pairs))
        try await lab.heal(other)
        try await lab.waitUntilLinked()
        say("\(other) restarted")

        let failedAfter = records.withLockedValue { $0.filter { $0.failedAt != nil }.count }
        let moved = zip(edges, phones.map(\.registeredEdge)).filter { $0 != $1 }.count
        report.failedOver = max(failedAfter - failedBefore, moved)
        let (store, database) = try lab.openLocations()
        defer { database?.cancel() }
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        for index in phones.indices {
            let count = try await store.bindings(for: "sip:phone\(index + 1)@example.com").filter { $0.expiresAt > now }.count
            report.bindings += count
            if count != 1 { report.misbound.append("phone\(index + 1)") }
        }
        say(report.summary)
        return report
    }

    /// Phone 2k calls phone 2k+1 for each k in `pairs`, all at once; returns how many were
    /// answered within 15 s. Every call is hung up.
    func placeCalls(pairs: Range<Int>) async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            for pair in pairs {
                let caller = 2 * pair, callee = 2 * pair + 1
                group.addTask { [self] in
                    guard let id = try? phones[caller].call("phone\(callee + 1)") else { return false }
                    let answered = await answered(CallKey(phone: caller, callID: id), within: .seconds(15))
                    await phones[caller].hangUp(id)
                    return answered
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }
}
