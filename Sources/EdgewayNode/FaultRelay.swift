import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SIPTransport

/// A TCP relay in front of a node, for the lab's faults (SPEC B14): it passes bytes both ways
/// until it is told to black-hole, then keeps every connection open and passes nothing — a hung
/// node — until it is healed.
public final class FaultRelay: Sendable {
    /// Where phones connect.
    public let address: SocketAddress
    private let channel: Channel
    private let blackholed: NIOLockedValueBox<Bool>

    /// Listens on `host:port` (0 for a free port) and relays to `target`.
    public static func start(to target: SocketAddress, host: String = "127.0.0.1", port: Int = 0) async throws -> FaultRelay {
        let blackholed = NIOLockedValueBox(false)
        let channel = try await SIPTransportError.listening(.tcp, host: host, port: port) {
            try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { inbound in
                    ClientBootstrap(group: inbound.eventLoop)
                        .connect(to: target)
                        .flatMap { outbound in
                            inbound.eventLoop.makeCompletedFuture {
                                try inbound.pipeline.syncOperations.addHandler(Pipe(peer: outbound, blackholed: blackholed))
                                try outbound.pipeline.syncOperations.addHandler(Pipe(peer: inbound, blackholed: blackholed))
                            }
                        }
                }
                .bind(host: host, port: port).get()
        }
        return FaultRelay(address: channel.localAddress!, channel: channel, blackholed: blackholed)
    }

    private init(address: SocketAddress, channel: Channel, blackholed: NIOLockedValueBox<Bool>) {
        self.address = address
        self.channel = channel
        self.blackholed = blackholed
    }

    /// From now on nothing passes, in either direction; connections stay open.
    public func blackhole() {
        blackholed.withLockedValue { $0 = true }
    }

    /// Whether nothing passes.
    public var isBlackholed: Bool {
        blackholed.withLockedValue { $0 }
    }

    /// Bytes pass again.
    public func heal() {
        blackholed.withLockedValue { $0 = false }
    }

    /// Stops listening (open connections end with their peers).
    public func stop() async {
        try? await channel.close()
    }

    /// Copies one side's bytes to the other while the relay is not black-holed.
    private final class Pipe: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let peer: Channel
        let blackholed: NIOLockedValueBox<Bool>

        init(peer: Channel, blackholed: NIOLockedValueBox<Bool>) {
            self.peer = peer
            self.blackholed = blackholed
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !blackholed.withLockedValue({ $0 }) else { return }
            peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            peer.close(promise: nil)
        }
    }
}
