import SIPCore
import SIPStack
import Testing

/// The `X-Edgeway-Peer` exchange that lets a diagnostic log reach the whole cluster (SPEC B25).
@Suite struct ClusterPeersTests {
    static func options() -> SIPMessage {
        var message = SIPMessage.request(method: "OPTIONS", uri: "sip:traversal@127.0.0.1:7001;transport=tls")
        message.headers.append(.callID, "hb-1")
        return message
    }

    @Test func aStampedMessageTeachesThePeerWhoSentIt() {
        let core = ClusterPeers(), edge = ClusterPeers()
        var heartbeat = Self.options()
        core.stamp(&heartbeat)
        #expect(!ClusterPeers.isPeerOptions(heartbeat), "nothing is told before the admin API runs")
        core.local = ClusterPeer(name: "core-1", admin: "http://127.0.0.1:17020", token: "abc123")
        core.stamp(&heartbeat)
        #expect(ClusterPeers.isPeerOptions(heartbeat))
        edge.record(heartbeat)
        #expect(edge.known == [ClusterPeer(name: "core-1", admin: "http://127.0.0.1:17020", token: "abc123")])
    }

    @Test func aNodeDoesNotListItselfNorAnUnreadableHeader() {
        let peers = ClusterPeers()
        peers.local = ClusterPeer(name: "edge-1", admin: "http://127.0.0.1:1", token: "t")
        var own = Self.options()
        peers.stamp(&own)
        peers.record(own)
        var broken = Self.options()
        broken.headers.append(ClusterPeers.header, "name=core-2;admin=ftp://x;token=")
        peers.record(broken)
        #expect(peers.known.isEmpty)
    }
}
