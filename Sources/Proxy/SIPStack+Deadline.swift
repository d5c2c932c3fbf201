import NIOConcurrencyHelpers
import SIPCore
import SIPStack
import SIPTransport

extension SIPStack {
    /// Sends a request through a client transaction and waits at most `milliseconds` for its
    /// final answer: `nil` on a timeout or a failure. The transaction itself runs to its end.
    func send(_ request: SIPMessage, on flow: Flow, within milliseconds: Int64) async -> SIPMessage? {
        await withCheckedContinuation { (continuation: CheckedContinuation<SIPMessage?, Never>) in
            let pending = NIOLockedValueBox<CheckedContinuation<SIPMessage?, Never>?>(continuation)
            @Sendable func finish(_ answer: SIPMessage?) {
                pending.withLockedValue { waiting in
                    defer { waiting = nil }
                    return waiting
                }?.resume(returning: answer)
            }
            Task { finish(try? await self.send(request: request, on: flow)) }
            Task {
                try? await Task.sleep(for: .milliseconds(milliseconds))
                finish(nil)
            }
        }
    }
}
