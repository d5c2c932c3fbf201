import Logging
import ServiceLifecycle

/// A running node (or the whole lab) as a swift-service-lifecycle `Service`: it runs until the
/// group shuts down gracefully (SIGTERM, Ctrl-C), then drains — no new connections, running
/// transactions finish within ``drainLimit`` — and closes everything (which un-links a core's
/// traversal links at once, so its edges need not wait for a heartbeat timeout).
public struct NodeService: Service {
    /// The node's name in the log (`edge-1`, `lab`).
    public let name: String
    /// The longest a drain may take before the node closes anyway (default 5 s).
    public let drainLimit: Duration
    private let drain: @Sendable (Duration) async -> Bool
    private let shutdown: @Sendable () async -> Void
    private let logger: Logger

    /// A service for a node: `drain` gets ``drainLimit`` and says whether it finished in time.
    public init(name: String, drainLimit: Duration = .seconds(5), logger: Logger,
                drain: @escaping @Sendable (Duration) async -> Bool, shutdown: @escaping @Sendable () async -> Void) {
        self.name = name
        self.drainLimit = drainLimit
        self.logger = logger
        self.drain = drain
        self.shutdown = shutdown
    }

    public func run() async throws {
        // Returns when the group shuts down gracefully; throws only when the task is cancelled.
        try? await gracefulShutdown()
        logger.info("draining", metadata: ["node": "\(name)", "limit": "\(drainLimit)"])
        let finished = await drain(drainLimit)
        if !finished {
            logger.warning("drain limit reached: closing with transactions still running", metadata: ["node": "\(name)"])
        }
        await shutdown()
        logger.info("stopped", metadata: ["node": "\(name)"])
    }
}
