import NIOCore
import Proxy
import SIPCore
import SIPStack
import SIPTransport
import STUNCore
import TestSupport

/// Flows, messages and action readers for the pure edge and core machine tests: no sockets.
enum Fixture {
    static func address(_ port: Int, _ host: String = "127.0.0.1") -> SocketAddress {
        try! SocketAddress(ipAddress: host, port: port)
    }

    static let traversal = address(7001)

    /// The time the edge's inputs are given (it matters only for listings' ages).
    static let now = NIODeadline.uptimeNanoseconds(1_000_000_000)

    /// A core's traversal link as the edge sees it, or a phone's TLS connection.
    static func link(_ id: UInt64) -> Flow {
        Flow(transport: .tls, local: traversal, remote: address(40_000 + Int(id)), connectionID: id)
    }

    static func phone(_ id: UInt64, transport: SIPTransportKind = .tls) -> Flow {
        Flow(transport: transport, local: address(5061), remote: address(50_000 + Int(id), "198.51.100.7"), connectionID: id)
    }

    static func register(contact: String = MRAFixtures.contact, extra: [String] = []) -> SIPMessage {
        var message = try! SIPParser.parse(MRAFixtures.register)
        if contact != MRAFixtures.contact {
            message.headers.remove(.contact)
            message.headers.append(.contact, contact)
        }
        for line in extra {
            let parts = line.split(separator: ":", maxSplits: 1)
            message.headers.append(SIPHeaderName(String(parts[0])), parts[1].trimmingCharacters(in: .whitespaces))
        }
        return message
    }

    /// The registrar's 200 OK as it comes back through the core to the edge.
    static func registerOK(acceptsARSK: Bool = true, registrar: String = "registrar-1") -> SIPMessage {
        var ok = try! SIPParser.parse(MRAFixtures.registerOK)
        if !acceptsARSK { ok = ARSK.withoutAcceptance(ok) }
        ok.headers.append(CoreStateMachine.registrarHeader, registrar)
        return ok
    }

    /// A core's heartbeat over a link.
    static func heartbeat(_ info: TraversalInfo) -> SIPMessage {
        var message = try! SIPParser.parse("""
            OPTIONS sip:traversal@127.0.0.1:7001;transport=tls SIP/2.0\r
            Via: SIP/2.0/TLS 127.0.0.1:40001;branch=z9hG4bK-hb-1;rport\r
            Max-Forwards: 0\r
            From: <sip:\(info.node)@traversal.invalid>;tag=1\r
            To: <sip:traversal@traversal.invalid>\r
            Call-ID: hb-1\r
            CSeq: 1 OPTIONS\r
            Content-Length: 0\r
            \r

            """)
        message.headers.append(TraversalInfo.header, info.headerValue)
        return message
    }

    static func core(_ name: String = "core-1", keepalive: Bool = true, maintenance: Bool = false,
                     registrars: [String: Bool] = ["registrar-1": true]) -> TraversalInfo {
        TraversalInfo(node: name, keepaliveEnabled: keepalive, maintenance: maintenance, registrars: registrars, heartbeatMilliseconds: 5_000)
    }

    /// An INVITE, its CANCEL and an ACK from a phone (no To tag: the INVITE opens a dialog).
    static func invite(method: String = "INVITE", toTag: String? = nil) -> SIPMessage {
        try! SIPParser.parse("""
            \(method) sip:bob@example.com SIP/2.0\r
            Via: SIP/2.0/TLS 192.0.2.10:58980;branch=z9hG4bK-call-1;rport\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=a1\r
            To: <sip:bob@example.com>\(toTag.map { ";tag=\($0)" } ?? "")\r
            Call-ID: call-1@192.0.2.10\r
            CSeq: 1 \(method)\r
            Contact: <sip:alice@192.0.2.10:58980;transport=tls>\r
            Content-Length: 0\r
            \r

            """)
    }

    static func cancel() -> SIPMessage { invite(method: "CANCEL") }

    static func ack() -> SIPMessage { invite(method: "ACK", toTag: "b1") }

    static func bindingRequest(_ id: UInt8 = 1) -> ByteBuffer {
        ByteBuffer(bytes: STUNMessage(type: .bindingRequest, transactionID: [UInt8](repeating: id, count: 12)).encode())
    }
}

extension Array where Element == ProxyAction {
    /// The responses among the actions.
    var responses: [SIPMessage] {
        compactMap { if case .respond(let message) = $0 { message } else { nil } }
    }

    /// The forwarded requests with their next hop and relay.
    var forwards: [(message: SIPMessage, hop: NextHop, relay: Relay)] {
        compactMap { if case .forward(let message, let hop, let relay) = $0 { (message, hop, relay) } else { nil } }
    }

    var timers: [(ProxyTimer, Duration)] {
        compactMap { if case .startTimer(let timer, let delay) = $0 { (timer, delay) } else { nil } }
    }

    var raised: [Alarm] {
        compactMap { if case .raiseAlarm(let alarm) = $0 { alarm } else { nil } }
    }

    var cleared: [Alarm] {
        compactMap { if case .clearAlarm(let alarm) = $0 { alarm } else { nil } }
    }

    var stunSent: [(ByteBuffer, Flow)] {
        compactMap { if case .sendSTUN(let bytes, let flow) = $0 { (bytes, flow) } else { nil } }
    }

    var heartbeats: [(SIPMessage, Flow)] {
        compactMap { if case .sendHeartbeat(let message, let flow, _) = $0 { (message, flow) } else { nil } }
    }

    var connects: [ConnectTarget] {
        compactMap { if case .connect(let target) = $0 { target } else { nil } }
    }

    var intrusions: [IntrusionCategory] {
        compactMap { if case .recordIntrusion(let category) = $0 { category } else { nil } }
    }

    var events: [RoleEvent] {
        compactMap { if case .log(let event) = $0 { event } else { nil } }
    }

    /// Everything the actions would write, as text: equal for equal actions.
    var transcript: String {
        map { action in
            switch action {
            case .respond(let message): "respond \(String(buffer: message.serialized()))"
            case .forward(let message, let hop, _): "forward \(hop) \(String(buffer: message.serialized()))"
            case .cancelForwarded(let ok, let unknown): "cancel \(String(buffer: ok.serialized())) \(String(buffer: unknown.serialized()))"
            case .sendSTUN(let bytes, let flow): "stun \(bytes.readableBytesView.map { $0 }) \(flow)"
            case .sendHeartbeat(let message, let flow, let within): "heartbeat \(flow) \(within) \(String(buffer: message.serialized()))"
            case .connect(let target): "connect \(target)"
            case .close(let flow): "close \(flow)"
            case .measureRoundTrip(let flow): "measure \(flow)"
            case .startTimer(let timer, let delay): "start \(timer) \(delay)"
            case .cancelTimer(let timer): "cancel \(timer)"
            case .raiseAlarm(let alarm): "raise \(alarm.description)"
            case .clearAlarm(let alarm): "clear \(alarm.description)"
            case .log(let event): "log \(event.message)"
            case .recordIntrusion(let category): "intrusion \(category)"
            }
        }.joined(separator: "\n")
    }
}
