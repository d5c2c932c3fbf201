/// The alarms a machine has raised, so it reports each transition once: ``update(_:)`` takes
/// the alarms that hold now and returns the raise and clear actions for what changed.
struct AlarmBook: Sendable {
    private(set) var raised: [Alarm] = []

    mutating func update(_ current: [Alarm]) -> [ProxyAction] {
        let now = current.sorted { $0.description < $1.description }
        guard now != raised else { return [] }
        let cleared = raised.filter { !now.contains($0) }.map(ProxyAction.clearAlarm)
        let new = now.filter { !raised.contains($0) }.map(ProxyAction.raiseAlarm)
        raised = now
        return cleared + new
    }
}
