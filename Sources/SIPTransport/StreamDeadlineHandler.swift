import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// The limit a connection broke, passed down the pipeline as its error so the close names it.
struct ConnectionLimitError: Error, CustomStringConvertible {
    var description: String
}

/// Cuts off a TCP or TLS peer that takes too long (SPEC B28): to finish its TLS handshake, to
/// send its first frame after accept, or to complete a frame it has begun (a slow sender). Sits
/// after the frame decoder, which tells it when a frame begins and ends
/// (``SIPStreamFrameDecoder/Progress``); logs a line naming the source and the limit.
final class StreamDeadlineHandler: ChannelInboundHandler {
    typealias InboundIn = SIPStreamFrame
    typealias InboundOut = SIPStreamFrame

    /// The limits, each `nil` when not applied.
    struct Limits {
        var handshake: TimeAmount?
        var firstMessage: TimeAmount?
        var message: TimeAmount
    }

    private let limits: Limits
    private let logger: Logger
    private var timer: Scheduled<Void>?
    private var awaitingHandshake: Bool
    private var awaitingFirstFrame: Bool

    init(limits: Limits, logger: Logger) {
        self.limits = limits
        self.logger = logger
        awaitingHandshake = limits.handshake != nil
        awaitingFirstFrame = limits.firstMessage != nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if awaitingFirstFrame {
            awaitingFirstFrame = false
            cancel()
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls, awaitingHandshake {
            awaitingHandshake = false
            cancel()
            if awaitingFirstFrame, let limit = limits.firstMessage { arm(context, limit, "no SIP or STUN message within") }
        } else if let progress = event as? SIPStreamFrameDecoder.Progress, !awaitingHandshake {
            switch progress {
            case .frameBegun:
                awaitingFirstFrame = false
                arm(context, limits.message, "message not complete within")
            case .frameEnded:
                if !awaitingFirstFrame { cancel() }
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        if awaitingHandshake, let limit = limits.handshake {
            arm(context, limit, "TLS handshake not complete within")
        } else if awaitingFirstFrame, let limit = limits.firstMessage {
            arm(context, limit, "no SIP or STUN message within")
        }
    }

    private func arm(_ context: ChannelHandlerContext, _ limit: TimeAmount, _ what: String) {
        cancel()
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: limit) {
            bound.value.handler.expired(bound.value.context, "\(what) \(Self.text(limit))")
        }
    }

    private func expired(_ context: ChannelHandlerContext, _ reason: String) {
        timer = nil
        guard context.channel.isActive else { return }
        logger.notice("connection cut off", metadata: [
            "source": "\(context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?")", "limit": "\(reason)",
        ])
        context.fireErrorCaught(ConnectionLimitError(description: reason))
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }

    private static func text(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        return milliseconds % 1_000 == 0 ? "\(milliseconds / 1_000) s" : "\(milliseconds) ms"
    }
}
