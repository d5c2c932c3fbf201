import Logging
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// A node's intrusion protection (SPEC B28): an ``IntrusionDetector`` shared by the transport,
/// the stack, the roles and the admin API, which record events; the transport refuses blocked
/// sources' connections at accept and drops their datagrams. Block and unblock are event-log
/// lines (`edgeway.ROLE`, notice level) naming the source, the category and the time.
public final class IntrusionProtection: Sendable {
    private let detector: NIOLockedValueBox<IntrusionDetector>
    /// Whether any block is in place: the transport's per-message check takes no lock otherwise.
    private let anyBlocked = Atomic<Bool>(false)
    private let logger: Logger
    private let onBlock = NIOLockedValueBox<[@Sendable (String) -> Void]>([])

    /// Creates the protection with a policy; `logger` takes the block and unblock lines.
    public init(policy: IntrusionPolicy, logger: Logger) {
        detector = NIOLockedValueBox(IntrusionDetector(policy: policy))
        self.logger = logger
    }

    /// The policy in force.
    public var policy: IntrusionPolicy { detector.withLockedValue { $0.policy } }

    /// Counts one event of `category` from the IP address `source`; blocks it when the category's
    /// trigger level is reached, logs the block and tells the ``whenBlocked(_:)`` hooks.
    public func record(_ category: IntrusionCategory, from source: String) {
        let now = NIODeadline.now()
        // The flag changes under the lock, so an expiry running at the same time cannot clear it
        // after this block was added.
        let block = detector.withLockedValue { detector -> IntrusionDetector.Block? in
            let block = detector.record(category, from: source, at: now)
            if block != nil { anyBlocked.store(true, ordering: .releasing) }
            return block
        }
        guard let block else { return }
        let seconds = (block.until - block.since).nanoseconds / 1_000_000_000
        logger.notice("source blocked by intrusion protection", metadata: [
            "source": "\(source)", "category": "\(category)", "seconds": "\(seconds)",
        ])
        for hook in onBlock.withLockedValue({ $0 }) { hook(source) }
    }

    /// Whether `source` is blocked now.
    public func isBlocked(_ source: String) -> Bool {
        guard anyBlocked.load(ordering: .acquiring) else { return false }
        let now = NIODeadline.now()
        return detector.withLockedValue { $0.isBlocked(source, at: now) }
    }

    /// The sources blocked now, soonest unblocked first.
    public var blocked: [IntrusionDetector.Block] {
        detector.withLockedValue { $0.blocked }
    }

    /// Ends the block of `source` (an operator's command); returns whether it was blocked.
    @discardableResult
    public func unblock(_ source: String) -> Bool {
        let block = detector.withLockedValue { detector -> IntrusionDetector.Block? in
            defer { anyBlocked.store(detector.hasBlocks, ordering: .releasing) }
            return detector.unblock(source)
        }
        guard let block else { return false }
        logger.notice("source unblocked by command", metadata: ["source": "\(block.source)", "category": "\(block.category)"])
        return true
    }

    /// Ends the blocks whose time is over (logging each) and forgets old counters; the transport
    /// calls it every second.
    public func expire() {
        let now = NIODeadline.now()
        let ended = detector.withLockedValue { detector -> [IntrusionDetector.Block] in
            defer { anyBlocked.store(detector.hasBlocks, ordering: .releasing) }
            return detector.expire(at: now)
        }
        for block in ended {
            logger.notice("source unblocked: block time over", metadata: ["source": "\(block.source)", "category": "\(block.category)"])
        }
    }

    /// Adds a hook called with each newly blocked source (the transport closes its connections).
    public func whenBlocked(_ hook: @escaping @Sendable (String) -> Void) {
        onBlock.withLockedValue { $0.append(hook) }
    }

}
