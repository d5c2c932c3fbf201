import SIPCore

/// What a transaction machine asks its owner to do. The owner performs actions in order.
public enum SIPTransactionAction: Sendable, Equatable {
    /// Send this message on the transaction's transport.
    case send(SIPMessage)
    /// Start (or restart) a timer to fire after the duration.
    case startTimer(SIPTransactionTimer, Duration)
    /// Cancel a timer if it is running.
    case cancelTimer(SIPTransactionTimer)
    /// Hand a message to the transaction user (a response for a client, the request for a server).
    case deliver(SIPMessage)
    /// Tell the transaction user that the transaction timed out (RFC 3261 §8.1.3.1: act as a 408).
    case reportTimeout
    /// Tell the transaction user that the transport failed (RFC 3261 §8.1.3.1: act as a 503).
    case reportTransportError
    /// The transaction is over; its owner removes it.
    case terminate
}
