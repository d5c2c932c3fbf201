import Foundation
import NIOConcurrencyHelpers

/// Every alarm a node raised, when it cleared and who acknowledged it, as *Status > Alarms* shows
/// them (SPEC B23): raised alarms stay listed after they clear, up to ``capacity`` entries (the
/// oldest cleared ones go first). Numbers count from 1 and are never reused while the node runs.
public final class AlarmLedger: Sendable {
    /// One alarm from its raising to its clearing.
    public struct Entry: Sendable {
        public var number: Int
        public var alarm: Alarm
        public var raised: Date
        public var cleared: Date?
        /// Who acknowledged it (`admin`, or `cli` for the admin token) and when.
        public var acknowledged: (by: String, at: Date)?
    }

    /// The most entries kept.
    public static let capacity = 1_000
    private let state = NIOLockedValueBox<(entries: [Entry], next: Int)>(([], 1))
    private let clock: @Sendable () -> Date

    /// An empty ledger; `clock` stamps raisings, clearings and acknowledgements.
    public init(clock: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = clock
    }

    /// Every entry, oldest first.
    public var entries: [Entry] { state.withLockedValue { $0.entries } }

    /// Records `alarm` raised, unless it is raised already and not cleared.
    public func raise(_ alarm: Alarm) {
        let now = clock()
        state.withLockedValue { state in
            guard !state.entries.contains(where: { $0.alarm == alarm && $0.cleared == nil }) else { return }
            state.entries.append(Entry(number: state.next, alarm: alarm, raised: now))
            state.next += 1
            if state.entries.count > Self.capacity, let oldest = state.entries.firstIndex(where: { $0.cleared != nil }) {
                state.entries.remove(at: oldest)
            }
        }
    }

    /// Records `alarm` cleared, if it is raised.
    public func clear(_ alarm: Alarm) {
        let now = clock()
        state.withLockedValue { state in
            for index in state.entries.indices where state.entries[index].alarm == alarm && state.entries[index].cleared == nil {
                state.entries[index].cleared = now
            }
        }
    }

    /// Raises what holds now and clears what no longer does (for alarms a node works out when
    /// asked, such as a registrar's unreachable store).
    public func reconcile(_ current: [Alarm]) {
        current.forEach(raise)
        let gone = state.withLockedValue { state in state.entries.filter { $0.cleared == nil && !current.contains($0.alarm) }.map(\.alarm) }
        gone.forEach(clear)
    }

    /// Marks entry `number` acknowledged by `name`.
    ///
    /// - Throws: ``AlarmLedgerError`` naming the numbers there are when there is no such entry.
    public func acknowledge(_ number: Int, by name: String) throws {
        let now = clock()
        try state.withLockedValue { state in
            guard let index = state.entries.firstIndex(where: { $0.number == number }) else {
                let numbers = state.entries.map { String($0.number) }.joined(separator: ", ")
                throw AlarmLedgerError(description: "there is no alarm \(number); alarms: \(numbers.isEmpty ? "none" : numbers)")
            }
            state.entries[index].acknowledged = (name, now)
        }
    }
}

/// An alarm that cannot be acknowledged; the text says why.
public struct AlarmLedgerError: Error, CustomStringConvertible {
    public var description: String
}

extension StatusLine {
    /// `AlarmHistory Alarm N Number|Id|Description|Raised|Cleared|Acknowledged` for every ledger
    /// entry, newest first (`Cleared` once it cleared); times in ISO 8601 (UTC).
    public static func alarmHistory(_ entries: [AlarmLedger.Entry]) -> [StatusLine] {
        let format = ISO8601DateFormatter()
        var lines: [StatusLine] = []
        for (index, entry) in entries.reversed().enumerated() {
            let prefix = "AlarmHistory Alarm \(index + 1)"
            lines.append(StatusLine("\(prefix) Number", String(entry.number)))
            lines.append(StatusLine("\(prefix) Id", "\"\(entry.alarm.id)\""))
            lines.append(StatusLine("\(prefix) Description", "\"\(entry.alarm.description)\""))
            lines.append(StatusLine("\(prefix) Raised", format.string(from: entry.raised)))
            if let cleared = entry.cleared { lines.append(StatusLine("\(prefix) Cleared", format.string(from: cleared))) }
            if let acknowledged = entry.acknowledged {
                lines.append(StatusLine("\(prefix) Acknowledged", "\"\(acknowledged.by) \(format.string(from: acknowledged.at))\""))
            }
        }
        return lines
    }
}
