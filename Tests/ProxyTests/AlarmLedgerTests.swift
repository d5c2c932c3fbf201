import Foundation
import NIOConcurrencyHelpers
import Proxy
import Testing

/// *Status > Alarms*' ledger on an injected clock: raised once, cleared, raised again as a new
/// entry, acknowledged by name, reconciled with what holds now, bounded.
struct AlarmLedgerTests {
    final class Clock: Sendable {
        let seconds = NIOLockedValueBox(1_000.0)
        func read() -> Date { Date(timeIntervalSince1970: seconds.withLockedValue { $0 }) }
        func advance(_ by: Double) { seconds.withLockedValue { $0 += by } }
    }

    let mismatch = Alarm(id: "keepalive-setting-mismatch", description: "Off here and On on core-1")
    let linkDown = Alarm(id: "traversal-link-down", description: "traversal link with core-2 is down")

    @Test func anAlarmIsKeptFromItsRaisingToItsClearingAndAcknowledged() throws {
        let clock = Clock()
        let ledger = AlarmLedger(clock: clock.read)
        ledger.raise(mismatch)
        clock.advance(5)
        ledger.raise(mismatch)
        #expect(ledger.entries.count == 1, "raised twice while it holds: one entry")
        ledger.clear(mismatch)
        #expect(ledger.entries[0].cleared == Date(timeIntervalSince1970: 1_005))
        ledger.raise(mismatch)
        #expect(ledger.entries.map(\.number) == [1, 2], "raised again after clearing: a new entry")
        try ledger.acknowledge(1, by: "admin")
        #expect(ledger.entries[0].acknowledged?.by == "admin")
        #expect(throws: AlarmLedgerError.self) { try ledger.acknowledge(7, by: "admin") }

        let lines = StatusLine.alarmHistory(ledger.entries)
        #expect(lines.first?.path == "AlarmHistory Alarm 1 Number" && lines.first?.value == "2", "newest first")
        #expect(lines.contains { $0.path == "AlarmHistory Alarm 2 Cleared" && $0.value == "1970-01-01T00:16:45Z" })
        #expect(lines.contains { $0.path == "AlarmHistory Alarm 2 Acknowledged" && $0.value.hasPrefix("\"admin ") })
        #expect(!lines.contains { $0.path == "AlarmHistory Alarm 1 Cleared" }, "the open one has no clearing")
    }

    @Test func reconcilingRaisesWhatHoldsAndClearsTheRest() {
        let ledger = AlarmLedger()
        ledger.reconcile([mismatch, linkDown])
        ledger.reconcile([linkDown])
        #expect(ledger.entries.first { $0.alarm == mismatch }?.cleared != nil)
        #expect(ledger.entries.first { $0.alarm == linkDown }?.cleared == nil)
    }

    @Test func theOldestClearedEntriesGoPastTheCapacity() {
        let ledger = AlarmLedger()
        ledger.raise(linkDown)
        for index in 0..<(AlarmLedger.capacity + 10) {
            let alarm = Alarm(id: "flap", description: "flap \(index)")
            ledger.raise(alarm)
            ledger.clear(alarm)
        }
        #expect(ledger.entries.count == AlarmLedger.capacity)
        #expect(ledger.entries.first?.alarm == linkDown, "an alarm that still holds is kept")
    }
}
