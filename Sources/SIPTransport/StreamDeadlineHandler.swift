import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// The limit a connection broke, passed down the pipeline as its error so the close names it.
struct ConnectionLimitError: Error, CustomStringConvertible {
    /// The metric's label: `max_connections`, `per_source`.
    var reason = "limit"
    var description: String
}

/// Cuts off a TCP or TLS peer that takes too long (SPEC B28): to finish its TLS handshake, to
/// send its first SIP or STUN message after accept (a CRLF keepalive does not count: it carries
/// nothing; a core's registrar connection carries only STUN keepalives, RFC 5626 §4.4.2), or to
/// complete a frame it has begun (a slow sender). Sits after the
/// frame decoder, which tells it when a frame begins and ends (``SIPStreamFrameDecoder/Progress``);
/// logs a line naming the source and the limit.
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
    /// The handshake's deadline, then the first SIP message's.
    private var opening: Scheduled<Void>?
    /// The deadline of the frame begun.
    private var frame: Scheduled<Void>?
    private var awaitingHandshake: Bool
    private var awaitingFirstMessage: Bool

    init(limits: Limits, logger: Logger) {
        self.limits = limits
        self.logger = logger
        awaitingHandshake = limits.handshake != nil
        awaitingFirstMessage = limits.firstMessage != nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelAll()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if awaitingFirstMessage, Self.isMessage(unwrapInboundIn(data)) {
            awaitingFirstMessage = false
            opening?.cancel()
            opening = nil
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls, awaitingHandshake {
            awaitingHandshake = false
            opening?.cancel()
            opening = awaitingFirstMessage ? limits.firstMessage.map { arm(context, $0, Self.firstMessageLimit) } : nil
        } else if let progress = event as? SIPStreamFrameDecoder.Progress {
            frame?.cancel()
            frame = progress == .frameBegun ? arm(context, limits.message, "message not complete within") : nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    private static let firstMessageLimit = "no SIP or STUN message within"

    private static func isMessage(_ frame: SIPStreamFrame) -> Bool {
        switch frame {
        case .sip, .stun: true
        case .ping, .pong: false
        }
    }

    private func start(_ context: ChannelHandlerContext) {
        guard opening == nil else { return }
        if awaitingHandshake, let limit = limits.handshake {
            opening = arm(context, limit, "TLS handshake not complete within")
        } else if awaitingFirstMessage, let limit = limits.firstMessage {
            opening = arm(context, limit, Self.firstMessageLimit)
        }
    }

    private func arm(_ context: ChannelHandlerContext, _ limit: TimeAmount, _ what: String) -> Scheduled<Void> {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        return context.eventLoop.scheduleTask(in: limit) {
            bound.value.handler.expired(bound.value.context, "\(what) \(Self.text(limit))")
        }
    }

    private func expired(_ context: ChannelHandlerContext, _ reason: String) {
        cancelAll()
        guard context.channel.isActive else { return }
        logger.notice("connection cut off", metadata: [
            "source": "\(context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?")", "limit": "\(reason)",
        ])
        context.fireErrorCaught(ConnectionLimitError(description: reason))
    }

    private func cancelAll() {
        opening?.cancel()
        frame?.cancel()
        opening = nil
        frame = nil
    }

    private static func text(_ amount: TimeAmount) -> String {
        let milliseconds = amount.nanoseconds / 1_000_000
        return milliseconds % 1_000 == 0 ? "\(milliseconds / 1_000) s" : "\(milliseconds) ms"
    }
}
