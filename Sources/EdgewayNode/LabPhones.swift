import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Phone
import PhoneLogic

/// Simulated phones in the lab: `phone1` … `phoneN`, each a ``SoftPhone`` with its own TLS
/// connection, trying edge-1 then edge-2; their timelines are kept for the failover report.
/// They answer every call at once; the state of each call is kept by call id.
public final class LabPhones: Sendable {
    /// What happened to one phone, in milliseconds on the lab's clock.
    struct Record {
        var edge: String?
        var failedAt: Int64?
        var movedAt: Int64?
        var deferred = false
    }

    let phones: [SoftPhone]
    let records: NIOLockedValueBox<[Record]>
    /// Each caller's call that is waited for, by phone index and call id: the outcome known
    /// (answered or not) before anyone waits, or the waiter to tell it to.
    let calls = NIOLockedValueBox<[CallKey: CallOutcome]>([:])

    enum CallOutcome {
        case known(answered: Bool)
        case waiting(CheckedContinuation<Bool, Never>)
    }

    /// One phone's side of a call.
    struct CallKey: Hashable {
        var phone: Int
        var callID: String
    }
    let started = ContinuousClock.now

    /// Milliseconds since the phones were created.
    func now() -> Int64 {
        let elapsed = ContinuousClock.now - started
        return elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    /// Creates and registers `count` phones, `batch` at a time (each batch registered before the
    /// next starts), within `seconds`.
    public init(count: Int, lab: LabDeployment, keepalive: Int64, timeout: Int64, batch: Int = 50, seconds: Int = 120) async throws {
        var timers = RegistrationMachine.Configuration()
        timers.keepaliveInterval = keepalive
        timers.keepaliveTimeout = timeout
        timers.registerTimeout = max(5_000, timeout * 4)
        phones = try (0..<count).map { index in
            try SoftPhone(configuration: .init(user: "phone\(index + 1)", password: LabDeployment.phonePassword, domain: "example.com",
                                               edges: lab.edgeAddresses, trustedCAPEM: lab.caPEM, timers: timers),
                          group: MultiThreadedEventLoopGroup.singleton)
        }
        records = NIOLockedValueBox(Array(repeating: Record(), count: count))
        for (index, phone) in phones.enumerated() {
            Task { [records, calls, weak self] in
                for await event in phone.events {
                    if case .call(let id, let state) = event {
                        LabPhones.note(state, of: CallKey(phone: index, callID: id), in: calls)
                        if case .incoming = state { phone.answer(id) }
                    }
                    guard let self, case .registration(let step) = event else { continue }
                    let now = self.now()
                    records.withLockedValue { records in
                        switch step {
                        case .registered(let edge, _, _):
                            if records[index].failedAt != nil, records[index].movedAt == nil, edge != records[index].edge { records[index].movedAt = now }
                            records[index].edge = edge
                        case .edgeFailed:
                            if records[index].failedAt == nil { records[index].failedAt = now }
                        case .failoverDeferred:
                            records[index].deferred = true
                        default:
                            break
                        }
                    }
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(seconds)
        for start in stride(from: 0, to: count, by: batch) {
            let slice = phones[start..<min(count, start + batch)]
            slice.forEach { $0.start() }
            while !slice.allSatisfy({ $0.registeredEdge != nil }) {
                guard ContinuousClock.now < deadline else {
                    throw NodeConfigurationError(path: "lab", key: "--phones", problem: "not every phone registered within \(seconds) s")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Reports where the phones are registered and which nodes are failed each time that
    /// changes, looked at every `interval` by a timer on an event loop; cancel the returned task
    /// to stop.
    public func watch(lab: LabDeployment, every interval: TimeAmount = .milliseconds(250),
                      onChange: @escaping @Sendable (String) -> Void) -> RepeatedTask {
        let last = NIOLockedValueBox("")
        return MultiThreadedEventLoopGroup.singleton.next().scheduleRepeatedTask(initialDelay: .zero, delay: interval) { [self] _ in
            let failed = lab.faults.filter { $0.state != "Running" }.map { "\($0.node) \($0.state.lowercased())" }
            let line = "phones: \(registered(through: lab.edgeAddresses[0])) via edge-1, "
                + "\(registered(through: lab.edgeAddresses[1])) via edge-2; nodes: "
                + (failed.isEmpty ? "all running" : failed.joined(separator: ", "))
            let changed = last.withLockedValue { previous -> Bool in
                defer { previous = line }
                return previous != line
            }
            guard changed else { return }
            onChange(line)
        }
    }

    /// How many phones are registered through `edge`.
    public func registered(through edge: String) -> Int {
        phones.filter { $0.registeredEdge == edge }.count
    }

    /// Fails `node` with `mode`, waits (at most `seconds`) until every phone registered through
    /// another edge, heals the node, and reports.
    public func failover(lab: LabDeployment, node: String, mode: LabDeployment.FaultMode, seconds: Int) async throws -> FailoverReport {
        guard let index = ["edge-1", "edge-2"].firstIndex(of: node) else {
            throw NodeConfigurationError(path: "lab", key: node, problem: "the failover scenario fails an edge; allowed: edge-1, edge-2")
        }
        let failedEdge = lab.edgeAddresses[index]
        let affected = Set(phones.indices.filter { phones[$0].registeredEdge == failedEdge })
        let faultAt = now()
        try await lab.fail(node, mode: mode)
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            let moved = records.withLockedValue { records in affected.filter { records[$0].movedAt != nil }.count }
            if moved == affected.count { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let snapshot = records.withLockedValue { $0 }
        try await lab.heal(node)
        let detect = affected.compactMap { snapshot[$0].failedAt.map { Double($0 - faultAt) } }.sorted()
        let recover = affected.compactMap { index in
            snapshot[index].movedAt.flatMap { moved in snapshot[index].failedAt.map { Double(moved - $0) } }
        }.sorted()
        let moved = affected.filter { snapshot[$0].movedAt != nil }
        return FailoverReport(phones: affected.count, moved: moved.count, deferred: affected.filter { snapshot[$0].deferred }.count,
                              detect: detect, recover: recover,
                              lastMoved: moved.compactMap { snapshot[$0].movedAt }.max().map { Double($0 - faultAt) } ?? 0)
    }

    /// Un-REGISTERs every phone.
    public func stop() async {
        await withTaskGroup(of: Void.self) { group in
            for phone in phones { group.addTask { await phone.stop() } }
        }
    }
}

/// The outcome of a failover: how many phones moved, how fast, and how many were lost.
public struct FailoverReport: Sendable {
    /// Phones that were on the failed edge, and how many of them re-registered elsewhere.
    public var phones: Int
    public var moved: Int
    /// Phones whose failover waited for a call to end.
    public var deferred: Int
    /// Per phone, milliseconds from the fault to its detection, and from detection to registered elsewhere (sorted).
    public var detect: [Double]
    public var recover: [Double]
    /// Milliseconds from the fault until the last phone re-registered.
    public var lastMoved: Double

    /// Phones that did not re-register.
    public var lost: Int { phones - moved }

    /// The value at quantile `q` of sorted `values`.
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        values.isEmpty ? 0 : values[min(values.count - 1, Int(Double(values.count) * q))]
    }

    /// The summary table.
    public var table: String {
        func row(_ name: String, _ values: [Double]) -> String {
            name.padding(toLength: 24, withPad: " ", startingAt: 0)
                + [Self.percentile(values, 0.5), Self.percentile(values, 0.9), Self.percentile(values, 0.99), values.last ?? 0]
                .map { String(Int($0)).leftPadded(to: 9) }.joined()
        }
        return """
            phones on the failed edge: \(phones); moved: \(moved); lost: \(lost); failovers deferred by calls: \(deferred)
            milliseconds                  p50      p90      p99      max
            \(row("fault → detected", detect))
            \(row("detected → registered", recover))
            last phone registered \(Int(lastMoved)) ms after the fault
            """
    }
}

extension String {
    /// The text right-aligned in `width` columns.
    func leftPadded(to width: Int) -> String {
        String(repeating: " ", count: max(0, width - count)) + self
    }
}

extension LabPhones {
    /// A call reached a state: once it is established (answered) or ended (not), its waiter hears.
    static func note(_ state: SoftPhone.CallState, of key: CallKey, in calls: NIOLockedValueBox<[CallKey: CallOutcome]>) {
        let answered: Bool
        switch state {
        case .established: answered = true
        case .ended: answered = false
        case .ringing, .incoming: return
        }
        let waiter = calls.withLockedValue { calls -> CheckedContinuation<Bool, Never>? in
            switch calls[key] {
            case .waiting(let waiter):
                calls[key] = nil
                return waiter
            case .known:
                return nil
            case nil:
                calls[key] = .known(answered: answered)
                return nil
            }
        }
        waiter?.resume(returning: answered)
    }

    /// Whether a call placed by phone `key.phone` was answered, waiting at most `limit` (a timer
    /// on an event loop, not a polling loop).
    func answered(_ key: CallKey, within limit: TimeAmount) async -> Bool {
        await withCheckedContinuation { (waiter: CheckedContinuation<Bool, Never>) in
            let known = calls.withLockedValue { calls -> Bool? in
                if case .known(let answered) = calls.removeValue(forKey: key) { return answered }
                calls[key] = .waiting(waiter)
                return nil
            }
            if let known { return waiter.resume(returning: known) }
            MultiThreadedEventLoopGroup.singleton.next().scheduleTask(in: limit) { [calls] in
                let late = calls.withLockedValue { calls -> CheckedContinuation<Bool, Never>? in
                    guard case .waiting(let waiter) = calls[key] else { return nil }
                    calls[key] = nil
                    return waiter
                }
                late?.resume(returning: false)
            }
        }
    }
}
