@testable import EdgewayNode
import Testing

/// The scrape-time metrics read from a node's status: counters that never go back nor count a
/// growth twice, gauges of links that go away.
@Suite struct NodeMetricsTests {
    static func value(_ text: [UInt8], _ series: String) -> Double {
        MetricsTests.value(String(decoding: text, as: UTF8.self), series)
    }

    @Test func aStatusCountGrowsTheCounterOnceEvenWhenScrapesOverlap() {
        let metrics = NodeMetrics()
        _ = metrics.text(status: [("Keepalive Answered", "10")], connections: [:])
        // A later scrape that read its status first lands first; the earlier one then brings a
        // smaller count, which must not look like a restart.
        _ = metrics.text(status: [("Keepalive Answered", "12")], connections: [:])
        let text = metrics.text(status: [("Keepalive Answered", "10")], connections: [:])
        #expect(Self.value(text, "edgeway_stun_keepalives_answered_total") == 12)
    }

    @Test func aLinkThatIsGoneReadsZeroAndUnknownPeersAreLeftOut() {
        let metrics = NodeMetrics()
        let up = metrics.text(status: [("Links Count", "2"), ("Links Link 1 Peer", "\"core-1\""), ("Links Link 1 State", "Up"),
                                       ("Links Link 2 Peer", "\"?\""), ("Links Link 2 State", "Down")], connections: [:])
        #expect(Self.value(up, "edgeway_traversal_link_up{peer=\"core-1\"}") == 1)
        #expect(!String(decoding: up, as: UTF8.self).contains("peer=\"?\""))
        let gone = metrics.text(status: [("Links Count", "0")], connections: [:])
        #expect(Self.value(gone, "edgeway_traversal_link_up{peer=\"core-1\"}") == 0)
    }
}
