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

extension ClusterPeersTests {
    @Test func theTokenIsRedactedForLogsAndCaptures() throws {
        let text = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TLS a;branch=z9hG4bK1\r\nX-Edgeway-Peer: name=core-1;admin=\"http://127.0.0.1:1\";token=s3cret;x=1\r\nContent-Length: 0\r\n\r\n"
        let redacted = try #require(ClusterPeers.redacted(Array(text.utf8)))
        let result = String(decoding: redacted, as: UTF8.self)
        #expect(!result.contains("s3cret"))
        #expect(result.contains("token=redacted;x=1\r\nContent-Length: 0"))
        #expect(ClusterPeers.redacted(Array("OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n".utf8)) == nil)
    }
}
