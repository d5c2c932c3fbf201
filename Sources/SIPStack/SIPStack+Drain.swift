import NIOCore

/// A graceful stop (SIGTERM): no new connections, new requests refused, and the transactions
/// in progress given their final responses first.
extension SIPStack {
    /// The number of transactions still owed a final response: server transactions whose TU has
    /// not answered, client transactions without a final response. Those that only wait for
    /// retransmissions (Timer J, K, D, I, L, M) do not count.
    public var transactionCount: Int {
        state.withLockedValue { $0.owing }
    }

    /// Waits until no transaction is owed a final response (``transactionCount`` is 0), or until
    /// `limit` passed; `true` when none is. For a graceful shutdown.
    public func transactionsFinished(within limit: Duration) async -> Bool {
        let done = loop.makePromise(of: Void.self)
        let idle = state.withLockedValue { state -> Bool in
            guard state.owing == 0 else {
                state.idleWaiters.append(done)
                return false
            }
            return true
        }
        if idle {
            done.succeed(())
            return true
        }
        let timeout = loop.scheduleTask(in: TimeAmount(limit)) { done.fail(SIPStackError(.timeout, "transactions still running")) }
        defer { timeout.cancel() }
        return (try? await done.futureResult.get()) != nil
    }

    /// A graceful stop's first steps: no new TCP or TLS connections, new requests answered 503
    /// with Retry-After (ACK, CANCEL and BYE still served, so calls can end), then the running
    /// transactions get their final responses (at most `limit`); `true` when they all did.
    public func drain(within limit: Duration) async -> Bool {
        draining.store(true, ordering: .releasing)
        await transport.stopAccepting()
        return await transactionsFinished(within: limit)
    }

    /// Completes the drain waiters once the last transaction is gone.
    func noteRemoved() {
        let waiters = state.withLockedValue { state -> [EventLoopPromise<Void>] in
            guard !state.idleWaiters.isEmpty, state.owing == 0 else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        waiters.forEach { $0.succeed(()) }
    }
}
