import Foundation

/// One node of the lab, running in the lab's process or in its own (`edgeway lab --processes`).
protocol LabNode: Sendable {
    /// The admin API, `http://127.0.0.1:PORT`.
    var adminURL: String? { get }
    /// The web UI, `https://127.0.0.1:PORT`.
    var webURL: String? { get }
    /// Whether every traversal link is up and every registrar reachable, within `limit` (a
    /// core's view; other roles answer at once).
    func linked(within limit: Duration) async -> Bool
    /// Stops taking new work and lets running transactions finish (SIGTERM for a process).
    func drain(within limit: Duration) async -> Bool
    /// Closes everything; a process is stopped for good.
    func shutdown() async
    /// A fault: the node dies at once (SIGKILL for a process; in-process, its sockets close).
    func kill() async
}

extension RegistrarNode: LabNode {
    var adminURL: String? { "http://127.0.0.1:\(adminPort)" }
    func linked(within limit: Duration) async -> Bool { true }
    func kill() async { await shutdown() }
}

extension CoreNode: LabNode {
    var adminURL: String? { "http://127.0.0.1:\(adminPort)" }
    func linked(within limit: Duration) async -> Bool { await service.linked(within: limit) }
    func kill() async { await shutdown() }
}

extension EdgeNode: LabNode {
    var adminURL: String? { "http://127.0.0.1:\(adminPort)" }
    func linked(within limit: Duration) async -> Bool { true }
    func kill() async { await shutdown() }
}
