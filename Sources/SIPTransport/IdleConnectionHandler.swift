import NIOCore

/// Reported up the pipeline when a connection has carried nothing, in either direction, for
/// its idle timeout.
struct ConnectionIdleEvent: Sendable {}

/// Notices a TCP or TLS connection that has been quiet for `timeout`.
///
/// Reads and writes only set a flag; a timer looks at the flag four times per timeout, and the
/// connection is idle after four quiet looks in a row. So the event comes between `timeout` and
/// 1.25 × `timeout` after the last traffic, and busy connections pay no clock read, promise or
/// callback per message (as NIO's `IdleStateHandler` does for writes).
final class IdleConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let looksPerTimeout = 4
    private let interval: TimeAmount
    private var sawTraffic = false
    private var quietLooks = 0
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        interval = .nanoseconds(max(timeout.nanoseconds / Int64(Self.looksPerTimeout), 1))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { schedule(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if timer == nil { schedule(context) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        sawTraffic = true
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        sawTraffic = true
        context.write(data, promise: promise)
    }

    private func schedule(_ context: ChannelHandlerContext) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: interval) {
            bound.value.handler.look(bound.value.context)
        }
    }

    private func look(_ context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        if sawTraffic {
            sawTraffic = false
            quietLooks = 0
        } else {
            quietLooks += 1
            if quietLooks >= Self.looksPerTimeout {
                quietLooks = 0
                context.fireUserInboundEventTriggered(ConnectionIdleEvent())
            }
        }
        schedule(context)
    }
}
