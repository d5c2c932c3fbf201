import Foundation

/// Waits for process signals without a handler that can run at an unsafe moment.
enum ProcessSignals {
    /// Returns the first of `signals` the process receives.
    static func next(_ signals: [Int32]) async -> Int32 {
        await withCheckedContinuation { continuation in
            let once = OnceBox(continuation)
            var sources: [DispatchSourceSignal] = []
            for number in signals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { once.resume(number) }
                source.resume()
                sources.append(source)
            }
            once.keep(sources)
        }
    }

    private final class OnceBox: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<Int32, Never>?
        private var sources: [DispatchSourceSignal] = []

        init(_ continuation: CheckedContinuation<Int32, Never>) { self.continuation = continuation }

        func keep(_ sources: [DispatchSourceSignal]) {
            lock.withLock { self.sources = sources }
        }

        func resume(_ number: Int32) {
            let pending = lock.withLock { () -> CheckedContinuation<Int32, Never>? in
                defer { continuation = nil }
                return continuation
            }
            pending?.resume(returning: number)
        }
    }
}
