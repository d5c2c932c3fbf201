import NIOCore
import Proxy
import Testing

/// SPEC B12 as a pure machine on a manual clock: one probe per interval, never two outstanding,
/// down on a timeout or a closed connection, a late or foreign answer ignored.
@Suite("Keepalive monitor")
struct KeepaliveMonitorTests {
    var nextID: UInt8 = 0

    /// An instant `milliseconds` after the manual clock's origin.
    func ms(_ milliseconds: Int64) -> NIODeadline {
        .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000)
    }

    mutating func id() -> [UInt8] {
        nextID += 1
        return [UInt8](repeating: nextID, count: 12)
    }

    @Test mutating func probesOncePerIntervalAndIsUpWhenAnswered() {
        var monitor = KeepaliveMonitor(interval: .seconds(30), timeout: .seconds(3), now: ms(0))
        #expect(monitor.poll(now: ms(0), newID: { id() }) == [.sendProbe(transactionID: [UInt8](repeating: 1, count: 12))])
        #expect(monitor.poll(now: ms(1_000), newID: { id() }) == [], "one outstanding at a time")
        #expect(monitor.received(transactionID: [UInt8](repeating: 1, count: 12), now: ms(1_200)) == [.healthChanged(.up)])
        #expect(monitor.nextWakeUp == ms(30_000))
        #expect(monitor.poll(now: ms(29_999), newID: { id() }) == [])
        #expect(monitor.poll(now: ms(30_000), newID: { id() }) == [.sendProbe(transactionID: [UInt8](repeating: 2, count: 12))])
        #expect(monitor.received(transactionID: [UInt8](repeating: 2, count: 12), now: ms(30_100)) == [], "still up: no change")
    }

    @Test mutating func aTimeoutMarksItDownAndALateAnswerDoesNotUndoIt() {
        var monitor = KeepaliveMonitor(interval: .seconds(30), timeout: .seconds(3), now: ms(0))
        _ = monitor.poll(now: ms(0), newID: { id() })
        #expect(monitor.nextWakeUp == ms(3_000))
        #expect(monitor.poll(now: ms(3_000), newID: { id() }) == [.healthChanged(.down)])
        #expect(monitor.received(transactionID: [UInt8](repeating: 1, count: 12), now: ms(3_001)) == [])
        #expect(monitor.health == .down)
        let next = monitor.poll(now: ms(30_000), newID: { id() })
        #expect(next == [.sendProbe(transactionID: [UInt8](repeating: 2, count: 12))])
        #expect(monitor.received(transactionID: [UInt8](repeating: 9, count: 12), now: ms(30_001)) == [], "another transaction id")
        #expect(monitor.received(transactionID: [UInt8](repeating: 2, count: 12), now: ms(30_002)) == [.healthChanged(.up)])
    }

    @Test mutating func aClosedConnectionIsDownAtOnce() {
        var monitor = KeepaliveMonitor(interval: .seconds(30), timeout: .seconds(3), now: ms(0))
        _ = monitor.poll(now: ms(0), newID: { id() })
        _ = monitor.received(transactionID: [UInt8](repeating: 1, count: 12), now: ms(10))
        #expect(monitor.connectionLost(now: ms(500)) == [.healthChanged(.down)])
        #expect(monitor.connectionLost(now: ms(600)) == [], "already down")
        monitor.probeSoon(now: ms(700))
        #expect(monitor.poll(now: ms(700), newID: { id() }) == [.sendProbe(transactionID: [UInt8](repeating: 2, count: 12))])
    }
}
