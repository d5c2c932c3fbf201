import SIPCore
import SIPStack
import SIPTransport

/// The OPTIONS request that carries a node's ``TraversalInfo`` over a traversal link: the core
/// sends one every heartbeat interval (the link's keepalive, SPEC B1) and either end sends one at
/// once when its settings or its registrars' health change (SPEC B24).
enum TraversalHeartbeat {
    static func request(from info: TraversalInfo, on flow: Flow, tokens: inout TokenGenerator) -> SIPMessage {
        var message = SIPMessage.request(method: "OPTIONS", uri: "sip:traversal@\(ProxyForwarder.hostPort(flow.remote));transport=tls")
        message.headers.append(.via, "SIP/2.0/TLS \(ProxyForwarder.hostPort(flow.local));branch=z9hG4bK-hb-\(tokens.nextHex());rport")
        message.headers.append(.maxForwards, "0")
        message.headers.append(.from, "<sip:\(info.node)@traversal.invalid>;tag=\(tokens.nextHex())")
        message.headers.append(.to, "<sip:traversal@traversal.invalid>")
        message.headers.append(.callID, "hb-\(tokens.nextHex())")
        message.headers.append(.cseq, "1 OPTIONS")
        message.headers.append(TraversalInfo.header, info.headerValue)
        message.headers.append(.contentLength, "0")
        return message
    }
}
