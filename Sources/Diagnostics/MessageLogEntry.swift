import Foundation
import NIOCore
import SIPTransport
import STUNCore

/// One entry of the message log (SPEC B26), in the shape of the Expressway network log:
///
/// ```
/// 2026-12-01T08:30:00.123Z edge-1 edgeway: UTCTime="2026-12-01 08:30:00,123" Module="network.sip" Level="DEBUG":  Action="Received" Local-ip="127.0.0.1" Local-port="15061" Src-ip="127.0.0.1" Src-port="43046" Transport="TLS" Flow-id="tls#7" Msg-Hash="1404390731930187372"
/// SIPMSG:
/// |REGISTER sip:example.com SIP/2.0
/// |Via: SIP/2.0/TLS …
/// ```
///
/// A STUN message is one line of module `network.stun`: `Action="Received" … STUN="Binding request"
/// Transaction-id="…"`.
enum MessageLogEntry {
    enum Action: String {
        case received = "Received"
        case sent = "Sent"
    }

    /// The entry for `bytes` (one SIP or STUN message, or a CRLF keepalive) crossing `flow`.
    static func format(_ bytes: ByteBuffer, action: Action, flow: Flow, node: String, time: Date) -> String {
        let kind = TrafficKind(bytes)
        let module = kind == .sip ? "network.sip" : "network.stun"
        var line = LogLine.head(time: time, node: node, module: module, level: "DEBUG") + "  " + LogLine.field("Action", action.rawValue)
        line += " " + LogLine.field("Local-ip", flow.local.ipAddress ?? "?") + " " + LogLine.field("Local-port", "\(flow.local.port ?? 0)")
        let (ip, port) = action == .received ? ("Src-ip", "Src-port") : ("Dst-ip", "Dst-port")
        line += " " + LogLine.field(ip, flow.remoteHost) + " " + LogLine.field(port, "\(flow.remotePort)")
        line += " " + LogLine.field("Transport", flow.transport.viaName) + " " + LogLine.field("Flow-id", "\(flow.transport)#\(flow.connectionID)")
        switch kind {
        case .sip:
            line += " " + LogLine.field("Msg-Hash", "\(hash(bytes))") + "\nSIPMSG:\n"
            let text = String(buffer: bytes)
            for row in text.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\r\n") ? 1 : 0) {
                line += "|" + row + "\n"
            }
            return line
        case .stun:
            let message = try? STUNMessage.decode(Array(bytes.readableBytesView))
            line += " " + LogLine.field("STUN", message.map { "\($0.type)" } ?? "unreadable")
            if let message { line += " " + LogLine.field("Transaction-id", message.transactionID.map { String(format: "%02x", $0) }.joined()) }
            return line + "\n"
        case .keepalive:
            return line + " " + LogLine.field("Keepalive", bytes.readableBytes >= 4 ? "CRLFCRLF ping" : "CRLF pong") + "\n"
        }
    }

    /// FNV-1a over the bytes: equal messages have equal hashes, in every node's log.
    static func hash(_ bytes: ByteBuffer) -> UInt64 {
        bytes.readableBytesView.reduce(14_695_981_039_346_656_037 as UInt64) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    }
}

/// What one unit of traffic is: SIP, STUN (RFC 8489 §5: the first two bits zero, the magic
/// cookie) or a CRLF keepalive (RFC 5626 §3.5.1).
enum TrafficKind: Equatable {
    case sip, stun, keepalive

    init(_ bytes: ByteBuffer) {
        let view = bytes.readableBytesView
        if view.count >= 20, let first = view.first, first & 0xC0 == 0,
           bytes.getInteger(at: bytes.readerIndex + 4, as: UInt32.self) == 0x2112_A442 {
            self = .stun
        } else if view.allSatisfy({ $0 == 0x0D || $0 == 0x0A }) {
            self = .keepalive
        } else {
            self = .sip
        }
    }
}
