import Foundation
import Subprocess
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A program the lab starts (a node, PostgreSQL's tools), spawned with swift-subprocess.
///
/// Not Foundation's `Process`: on Linux it lists `/proc/self/fd` before each spawn to close every
/// descriptor in the child; with a thousand connections open (a lab's 500 phones) a copy in
/// `Process.run()` read past its buffer into an unmapped page and crashed the lab when it
/// restarted a node (SIGSEGV in `memcpy`, the fd numbers in its registers). swift-subprocess
/// closes them with `posix_spawn_file_actions_addclosefrom_np`.
final class ChildProcess: Sendable {
    /// The child's process id.
    let pid: Int32
    private let status: NIOLockedValueBox<Int32?>
    /// Ends when the child does (swift-subprocess awaits its termination).
    private let ended: Task<Void, Never>

    private init(pid: Int32, status: NIOLockedValueBox<Int32?>, ended: Task<Void, Never>) {
        self.pid = pid
        self.status = status
        self.ended = ended
    }

    /// Starts `path` with `arguments`, standard input from /dev/null and standard output and error
    /// to `output` (which stays open here), in `directory`, with `environment` added to this
    /// process's.
    ///
    /// - Throws: the spawn's error (no such program, not executable).
    static func start(_ path: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil,
                      output: FileDescriptor) async throws -> ChildProcess {
        let status = NIOLockedValueBox<Int32?>(nil)
        let (started, announce) = AsyncThrowingStream<Int32, any Error>.makeStream()
        let updates = Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), Optional($0.value)) })
        // A process group of its own, as Foundation's Process gave: a Ctrl-C in the terminal
        // reaches the lab, which stops its nodes in order.
        var options = PlatformOptions()
        options.processGroupID = 0
        let ended = Task.detached { [options] in
            do {
                let result = try await run(.path(FilePath(path)), arguments: Arguments(arguments), environment: .inherit.updating(updates),
                                           workingDirectory: directory.map { FilePath($0) }, platformOptions: options, input: .none,
                                           output: .fileDescriptor(output, closeAfterSpawningProcess: false),
                                           error: .fileDescriptor(output, closeAfterSpawningProcess: false)) { execution in
                    announce.yield(execution.processIdentifier.value)
                }
                status.withLockedValue { status in
                    switch result.terminationStatus {
                    case .exited(let code): status = code
                    case .signaled(let signal): status = 128 + signal
                    }
                }
                announce.finish()
            } catch {
                status.withLockedValue { $0 = 127 }
                announce.finish(throwing: error)
            }
        }
        for try await pid in started { return ChildProcess(pid: pid, status: status, ended: ended) }
        throw CocoaError(.executableLoad)
    }

    /// Whether it still runs.
    var isRunning: Bool { status.withLockedValue { $0 == nil } }

    /// Its exit status once it ended: the exit code, or 128 + the signal that ended it.
    var exitStatus: Int32? { status.withLockedValue { $0 } }

    /// Sends `signal` (SIGTERM, SIGKILL) while it runs.
    func send(_ signal: Int32) {
        if isRunning { _ = kill(pid, signal) }
    }

    /// Waits until it ends, at most `limit`: whether it did. Its end is awaited, against one timer.
    func exited(within limit: Duration) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [ended] in await ended.value }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
        return !isRunning
    }
}
