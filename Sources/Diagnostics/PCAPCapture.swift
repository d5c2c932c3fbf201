import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOExtras
import SIPTransport

/// The decrypted capture of a diagnostic log (SPEC B25): what a node sends and receives, as a
/// pcap file Wireshark and tshark dissect, with the real addresses and ports.
///
/// Representation: each SIP message on a TCP or TLS flow is a TCP segment of that connection,
/// written by swift-nio-extras' `NIOWritePCAPHandler` (one per connection, with its handshake and
/// sequence numbers); each STUN message on such a flow, and everything on UDP, is a UDP datagram
/// between the same addresses and ports. A STUN message left inside the TCP stream would stop
/// Wireshark's SIP dissector from finding the SIP messages after it; as a datagram its STUN
/// heuristic dissects it. CRLF keepalives are left out. A TLS flow's segments are plain text:
/// read them with `tshark -r capture.pcap -d tcp.port==5061,sip` when the port is SIP's TLS port.
final class PCAPCapture: Sendable {
    private struct Connection {
        let channel: EmbeddedChannel
    }

    /// Written through a buffer, not swift-nio-extras' `SynchronizedFileSink`, which queues one
    /// dispatch per record: four to a registration, too many while a registrar is busy.
    let file: BufferedFile
    private let connections = NIOLockedValueBox<[UInt64: Connection]>([:])
    private let opened: @Sendable (Flow) -> Bool
    let url: URL

    /// Creates `url` (a new pcap file); `opened` tells whether this node opened a flow's
    /// connection (the TCP client).
    ///
    /// - Throws: ``DiagnosticsError`` when the file cannot be created.
    init(_ url: URL, opened: @escaping @Sendable (Flow) -> Bool) throws {
        self.url = url
        self.opened = opened
        try? FileManager.default.removeItem(at: url)
        file = try BufferedFile(url)
        file.append(NIOWritePCAPHandler.pcapFileHeader)
    }

    /// Bytes of the capture file so far.
    var size: Int { file.size }

    /// Records one message that crossed `flow`, `inbound` or out, at `time`. On the diagnostics
    /// thread: the connections' `EmbeddedChannel`s are used on the thread that made them.
    func record(_ bytes: ByteBuffer, on flow: Flow, inbound: Bool, time: Date) {
        let kind = TrafficKind(bytes)
        guard kind != .keepalive else { return }
        if flow.transport == .udp || kind == .stun {
            var record = ByteBuffer()
            let (source, destination) = inbound ? (flow.remote, flow.local) : (flow.local, flow.remote)
            UDPRecord.write(bytes, from: source, to: destination, time: time, into: &record)
            add(record)
            return
        }
        connections.withLockedValue { connections in
            let connection = connections[flow.connectionID] ?? open(flow)
            connections[flow.connectionID] = connection
            if inbound {
                _ = try? connection.channel.writeInbound(bytes)
                _ = try? connection.channel.readInbound(as: ByteBuffer.self)
            } else {
                _ = try? connection.channel.writeOutbound(IOData.byteBuffer(bytes))
                _ = try? connection.channel.readOutbound(as: IOData.self)
            }
        }
    }

    /// A TCP or TLS flow closed: its FIN is written and it is forgotten (on the diagnostics thread).
    func closed(_ flow: Flow) {
        guard flow.transport != .udp else { return }
        connections.withLockedValue { connections in
            _ = try? connections.removeValue(forKey: flow.connectionID)?.channel.finish()
        }
    }

    /// Writes what is pending and closes the file.
    func close() async {
        try? await DiagnosticsThread.loop.submit { [connections] in connections.withLockedValue { $0.removeAll() } }.get()
        await file.close()
    }

    private func add(_ buffer: ByteBuffer) {
        file.append(buffer)
    }

    /// A connection first seen now: a handler that writes its handshake and then its segments.
    private func open(_ flow: Flow) -> Connection {
        let handler = NIOWritePCAPHandler(mode: opened(flow) ? .client : .server, fakeLocalAddress: flow.local,
                                          fakeRemoteAddress: flow.remote, settings: .init(emitPCAPWrites: .whenIssued),
                                          fileSink: { [self] in add($0) })
        let channel = EmbeddedChannel(handler: handler)
        _ = try? channel.connect(to: flow.remote).wait()
        return Connection(channel: channel)
    }
}
