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

    private let sink: NIOWritePCAPHandler.SynchronizedFileSink
    private let connections = NIOLockedValueBox<[UInt64: Connection]>([:])
    private let written = NIOLockedValueBox(24)
    private let opened: @Sendable (Flow) -> Bool
    let url: URL

    /// Creates `url` (a new pcap file); `opened` tells whether this node opened a flow's
    /// connection (the TCP client).
    ///
    /// - Throws: ``DiagnosticsError`` when the file cannot be created.
    init(_ url: URL, opened: @escaping @Sendable (Flow) -> Bool) throws {
        self.url = url
        self.opened = opened
        do {
            sink = try .fileSinkWritingToFile(path: url.path, errorHandler: { _ in })
        } catch {
            throw DiagnosticsError(.io, "cannot create the capture \(url.path): \(error)")
        }
    }

    /// Bytes of the capture file so far.
    var size: Int { written.withLockedValue { $0 } }

    /// Records one message that crossed `flow`, `inbound` or out.
    func record(_ bytes: ByteBuffer, on flow: Flow, inbound: Bool) {
        let kind = TrafficKind(bytes)
        guard kind != .keepalive else { return }
        if flow.transport == .udp || kind == .stun {
            var record = ByteBuffer()
            let (source, destination) = inbound ? (flow.remote, flow.local) : (flow.local, flow.remote)
            UDPRecord.write(bytes, from: source, to: destination, time: Date(), into: &record)
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

    /// A TCP or TLS flow closed: its FIN is written and it is forgotten.
    func closed(_ flow: Flow) {
        guard flow.transport != .udp else { return }
        connections.withLockedValue { connections in
            _ = try? connections.removeValue(forKey: flow.connectionID)?.channel.finish()
        }
    }

    /// Writes what is pending and closes the file.
    func close() async {
        connections.withLockedValue { $0.removeAll() }
        try? await sink.close()
    }

    private func add(_ buffer: ByteBuffer) {
        written.withLockedValue { $0 += buffer.readableBytes }
        sink.write(buffer: buffer)
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
