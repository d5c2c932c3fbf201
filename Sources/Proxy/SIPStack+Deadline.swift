import NIOCore
import SIPCore
import SIPStack
import SIPTransport

extension SIPStack {
    /// Sends a request through a client transaction and waits at most `milliseconds` for its
    /// final answer: `nil` on a timeout or a failure. The transaction itself runs to its end.
    /// The wait is timed on the event loop, so a busy shared executor cannot make it expire early.
    func send(_ request: SIPMessage, on flow: Flow, within milliseconds: Int64) async -> SIPMessage? {
        let answer = sendFuture(request: request, on: flow)
        let loop = answer.eventLoop
        let deadline = loop.makePromise(of: SIPMessage?.self)
        let timer = loop.scheduleTask(in: .milliseconds(milliseconds)) { deadline.succeed(nil) }
        answer.whenComplete { result in
            timer.cancel()
            deadline.succeed(try? result.get())
        }
        return try? await deadline.futureResult.get()
    }
}
