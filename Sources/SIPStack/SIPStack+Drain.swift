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
    /// `limit` passed; `true` when none is. Only while draining: nothing else wakes it.
    private func transactionsFinished(within limit: Duration) async -> Bool {
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
        let timeout = loop.scheduleTask(in: TimeAmount(limit)) { [state] in
            state.withLockedValue { $0.idleWaiters.removeAll { $0 == done } }
            done.fail(SIPStackError(.timeout, "transactions still running"))
        }
        defer { timeout.cancel() }
        return (try? await done.futureResult.get()) != nil
    }

    /// A graceful stop's first steps: no new TCP or TLS connections; new registrations and
    /// dialogs answered 503 with Retry-After, while requests inside dialogs, heartbeats and
    /// everything in progress go on; then the running transactions get their final responses
    /// (an INVITE answered 2xx: its ACK), for at most `limit`. `true` when they all did.
    public func drain(within limit: Duration) async -> Bool {
        draining.store(true, ordering: .releasing)
        await transport.stopAccepting()
        return await transactionsFinished(within: limit)
    }

    /// Completes the drain waiters once the last transaction is answered; free when not draining.
    func noteRemoved() {
        guard draining.load(ordering: .relaxed) else { return }
        let waiters = state.withLockedValue { state -> [EventLoopPromise<Void>] in
            guard !state.idleWaiters.isEmpty, state.owing == 0 else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        waiters.forEach { $0.succeed(()) }
    }
}
