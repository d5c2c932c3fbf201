import Foundation
import PhoneLogic

/// What a chaos run did and how it ended (SPEC B14, B19, B30: no node loss loses a phone).
public struct ChaosReport: Sendable {
    /// Phones in the run, registered at the end, and the bindings the registrar holds for them.
    public var phones: Int
    public var registered: Int
    public var bindings: Int
    /// Faults injected.
    public var faults: Int
    /// Phones without exactly one binding at the end.
    public var misbound: [String]

    /// Every phone registered with exactly one binding.
    public var passed: Bool { registered == phones && bindings == phones && misbound.isEmpty }

    /// The closing lines.
    public var summary: String {
        "chaos: \(faults) faults; phones \(phones), registered \(registered), bindings \(bindings), lost \(phones - registered)"
            + (misbound.isEmpty ? "" : "; not exactly one binding: \(misbound.prefix(10).joined(separator: ", "))")
            + "; \(passed ? "passed" : "FAILED")"
    }
}

extension LabPhones {
    /// Kills and restarts random nodes (the registrar, a core, an edge) and black-holes edges, one
    /// fault at a time, each held 2–8 s, for `duration`; then waits at most `settle` for every
    /// phone to be registered with exactly one binding. `say` gets a line per step (the caller
    /// stamps the time); `seed` makes the sequence repeatable.
    public func chaos(lab: LabDeployment, duration: Duration, settle: Duration, seed: UInt64,
                      say: @escaping @Sendable (String) -> Void) async throws -> ChaosReport {
        var random = SplitMix64(seed: seed)
        let menu: [(node: String, mode: LabDeployment.FaultMode)] = lab.registrarNames.map { ($0, .kill) } + [
            ("core-1", .kill), ("core-2", .kill), ("edge-1", .kill), ("edge-2", .kill),
            ("edge-1", .blackhole), ("edge-2", .blackhole),
        ]
        let start = ContinuousClock.now
        say("chaos for \(duration) with seed \(seed): \(phones.count) phones")
        var faults = 0
        while ContinuousClock.now - start < duration {
            let fault = menu[Int(random.next() % UInt64(menu.count))]
            let before = lab.pid(of: fault.node).map { " (pid \($0))" } ?? ""
            try await lab.fail(fault.node, mode: fault.mode)
            faults += 1
            say("\(fault.mode == .kill ? "kill -9" : "black-hole") \(fault.node)\(fault.mode == .kill ? before : "")")
            try await Task.sleep(for: .milliseconds(2_000 + Int(random.next() % 6_000)))
            try await lab.heal(fault.node)
            say("\(fault.node) \(fault.mode == .kill ? "restarted" + (lab.pid(of: fault.node).map { " (pid \($0))" } ?? "") : "passes again")")
            try await Task.sleep(for: .milliseconds(2_000 + Int(random.next() % 3_000)))
        }
        say("faults over; waiting up to \(settle) for every phone to be registered once")
        let (store, database) = try lab.openLocations()
        defer { database?.cancel() }
        let deadline = ContinuousClock.now + settle
        var report = ChaosReport(phones: phones.count, registered: 0, bindings: 0, faults: faults, misbound: [])
        repeat {
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            report.registered = phones.filter { $0.registeredEdge != nil }.count
            report.bindings = 0
            report.misbound = []
            for index in phones.indices {
                let user = "phone\(index + 1)"
                let count = try await store.bindings(for: "sip:\(user)@example.com").filter { $0.expiresAt > now }.count
                report.bindings += count
                if count != 1 { report.misbound.append(user) }
            }
            if report.passed { break }
            try await Task.sleep(for: .milliseconds(500))
        } while ContinuousClock.now < deadline
        say("\(report.summary)")
        return report
    }
}

extension LabDeployment {
    /// The process id of a node run as its own process.
    func pid(of node: String) -> Int32? {
        (nodes.withLockedValue { $0[node] } as? NodeProcess)?.pid
    }
}
