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

    /// The entry for `bytes` (one SIP or STUN message, or a CRLF keepalive) crossing `flow`, as
    /// the bytes to write: the message is copied once, its line breaks turned into `\n|`.
    static func format(_ bytes: ByteBuffer, action: Action, flow: Flow, node: String, time: Date) -> ByteBuffer {
        let kind = TrafficKind(bytes)
        var entry = ByteBuffer()
        entry.reserveCapacity(kind == .sip ? bytes.readableBytes + bytes.readableBytes / 16 + 400 : 400)
        LogLine.writeHead(into: &entry, time: time, node: node, module: kind == .sip ? "network.sip" : "network.stun", level: "DEBUG")
        entry.writeInteger(UInt8(ascii: " "))
        LogLine.writeField(into: &entry, "Action", action.rawValue)
        LogLine.writeField(into: &entry, "Local-ip", flow.local.ipAddress ?? "?")
        LogLine.writeField(into: &entry, "Local-port", String(flow.local.port ?? 0))
        LogLine.writeField(into: &entry, action == .received ? "Src-ip" : "Dst-ip", flow.remoteHost)
        LogLine.writeField(into: &entry, action == .received ? "Src-port" : "Dst-port", String(flow.remotePort))
        LogLine.writeField(into: &entry, "Transport", flow.transport.viaName)
        LogLine.writeField(into: &entry, "Flow-id", "\(flow.transport.rawValue)#\(flow.connectionID)")
        switch kind {
        case .sip:
            LogLine.writeField(into: &entry, "Msg-Hash", String(hash(bytes)))
            entry.writeString("\nSIPMSG:\n")
            writePrefixed(bytes, into: &entry)
        case .stun:
            let message = try? STUNMessage.decode(Array(bytes.readableBytesView))
            LogLine.writeField(into: &entry, "STUN", message.map { "\($0.type)" } ?? "unreadable")
            if let message { LogLine.writeField(into: &entry, "Transaction-id", message.transactionID.map { String(format: "%02x", $0) }.joined()) }
            entry.writeString("\n")
        case .keepalive:
            LogLine.writeField(into: &entry, "Keepalive", bytes.readableBytes >= 4 ? "CRLFCRLF ping" : "CRLF pong")
            entry.writeString("\n")
        }
        return entry
    }

    /// A TCP or TLS connection's end: `Module="network.tcp" … Action="Closed" … Reason="…"`, so a
    /// reader sees a failover that followed a closed connection.
    static func closed(_ flow: Flow, reason: String, node: String, time: Date) -> ByteBuffer {
        var entry = ByteBuffer()
        LogLine.writeHead(into: &entry, time: time, node: node, module: "network.tcp", level: "DEBUG")
        entry.writeInteger(UInt8(ascii: " "))
        LogLine.writeField(into: &entry, "Action", "Closed")
        LogLine.writeField(into: &entry, "Local-ip", flow.local.ipAddress ?? "?")
        LogLine.writeField(into: &entry, "Local-port", String(flow.local.port ?? 0))
        LogLine.writeField(into: &entry, "Src-ip", flow.remoteHost)
        LogLine.writeField(into: &entry, "Src-port", String(flow.remotePort))
        LogLine.writeField(into: &entry, "Transport", flow.transport.viaName)
        LogLine.writeField(into: &entry, "Flow-id", "\(flow.transport.rawValue)#\(flow.connectionID)")
        entry.writeString(" " + LogLine.field("Reason", reason) + "\n")
        return entry
    }

    /// Each line of `bytes` as `|line\n` (RFC 3261 lines end in CRLF; a last line without one too).
    static func writePrefixed(_ bytes: ByteBuffer, into entry: inout ByteBuffer) {
        bytes.withUnsafeReadableBytes { raw in
            var start = 0
            var index = 0
            entry.writeInteger(UInt8(ascii: "|"))
            while index + 1 < raw.count {
                if raw[index] == 0x0D && raw[index + 1] == 0x0A {
                    entry.writeBytes(UnsafeRawBufferPointer(rebasing: raw[start..<index]))
                    entry.writeInteger(UInt8(ascii: "\n"))
                    start = index + 2
                    if start < raw.count { entry.writeInteger(UInt8(ascii: "|")) }
                    index += 2
                } else {
                    index += 1
                }
            }
            if start < raw.count {
                entry.writeBytes(UnsafeRawBufferPointer(rebasing: raw[start...]))
                entry.writeInteger(UInt8(ascii: "\n"))
            }
        }
    }

    /// FNV-1a over the bytes: equal messages have equal hashes, in every node's log.
    static func hash(_ bytes: ByteBuffer) -> UInt64 {
        bytes.withUnsafeReadableBytes { raw in
            raw.reduce(14_695_981_039_346_656_037 as UInt64) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
        }
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
