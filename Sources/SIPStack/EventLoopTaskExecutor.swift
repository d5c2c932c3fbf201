import NIOCore

/// Runs Swift tasks on a NIO event loop, so a role's async work for a message stays on the
/// thread that read it: `Task(executorPreference: EventLoopTaskExecutor(loop)) { … }`.
public final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    /// The loop the tasks run on.
    public let loop: EventLoop

    /// An executor for `loop`.
    public init(_ loop: EventLoop) {
        self.loop = loop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
