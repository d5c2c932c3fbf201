import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PhoneLogic

/// Finds a domain's edges through DNS SRV `_collab-edge._tls.<domain>` (SPEC B15), asking a
/// given DNS server over UDP, and orders them by RFC 2782.
public enum EdgeDiscovery {
    /// The edges of `domain` as `host:port`, in the order to try them; SRV targets are resolved
    /// to IPv4 addresses through the same server.
    public static func edges(of domain: String, server: SocketAddress, timeout: TimeAmount = .seconds(3)) async throws -> [String] {
        let records = try await ask(server, name: "_collab-edge._tls.\(domain)", type: .srv, timeout: timeout).compactMap { answer -> SRVRecord? in
            if case .srv(let record) = answer { return record }
            return nil
        }
        guard !records.isEmpty else { throw DiscoveryError(detail: "no SRV records for _collab-edge._tls.\(domain)") }
        var generator = SystemRandomNumberGenerator()
        var edges: [String] = []
        for record in SRVOrder.ordered(records, using: &generator) {
            let target = record.target.hasSuffix(".") ? String(record.target.dropLast()) : record.target
            let address: String
            if (try? SocketAddress(ipAddress: target, port: 0)) != nil {
                address = target
            } else {
                let found = try await ask(server, name: target, type: .a, timeout: timeout).compactMap { answer -> String? in
                    if case .a(let ip) = answer { return ip }
                    return nil
                }
                guard let first = found.first else { continue }
                address = first
            }
            edges.append("\(address):\(record.port)")
        }
        return edges
    }

    /// One query and its answers.
    static func ask(_ server: SocketAddress, name: String, type: DNSMessage.RecordType, timeout: TimeAmount) async throws -> [DNSMessage.Answer] {
        let id = UInt16.random(in: 1...UInt16.max)
        let group = MultiThreadedEventLoopGroup.singleton
        let reply = group.next().makePromise(of: [UInt8].self)
        let channel = try await DatagramBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Reader(reply: reply)) }
            }
            .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).get()
        defer { channel.close(promise: nil) }
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            reply.fail(DiscoveryError(detail: "no answer from the DNS server \(server) for \(name)"))
        }
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: DNSMessage.query(id: id, name: name, type: type))))
        let bytes = try await reply.futureResult.get()
        timer.cancel()
        return try DNSMessage.answers(bytes, id: id)
    }

    private final class Reader: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let reply: EventLoopPromise<[UInt8]>

        init(reply: EventLoopPromise<[UInt8]>) { self.reply = reply }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            reply.succeed(Array(unwrapInboundIn(data).data.readableBytesView))
        }
    }
}

/// Edges could not be found.
public struct DiscoveryError: Error, CustomStringConvertible {
    public var detail: String
    public var description: String { detail }
}
