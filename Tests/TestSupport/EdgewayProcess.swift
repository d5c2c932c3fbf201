import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SIPTransport

/// An `edgeway` process started by a test: its standard output is collected, and the addresses
/// it bound are read from its "ready" line.
public final class EdgewayProcess: @unchecked Sendable {
    /// The running process.
    public let process = Process()
    private let output = NIOLockedValueBox("")

    /// The `edgeway` binary built next to the test bundle.
    public static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("edgeway")
    }

    /// Runs `edgeway` (or `executable`) with arguments to completion and returns its output and
    /// status; the wait happens on a thread of its own, not on one of Swift's shared executor
    /// threads. The pipe is closed on exec, so no other child holds it open after this one ends.
    public static func run(executable: String? = nil, _ arguments: [String], directory: URL? = nil) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let process = Process()
                    process.executableURL = executable.map { URL(fileURLWithPath: $0) } ?? binary
                    process.arguments = arguments
                    process.currentDirectoryURL = directory
                    let pipe = Pipe.closedOnExec()
                    process.standardOutput = pipe
                    process.standardError = pipe
                    try process.run()
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    return (exitStatus(of: process), String(decoding: data, as: UTF8.self))
                })
            }
        }
    }

    /// Starts a long-running `edgeway` command, or another program given by `executable`, in
    /// `directory` when given.
    public init(executable: String? = nil, _ arguments: [String], directory: URL? = nil) throws {
        process.executableURL = executable.map { URL(fileURLWithPath: $0) } ?? Self.binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe.closedOnExec()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [output] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            output.withLockedValue { $0 += text }
        }
        try process.run()
    }

    /// A process a test left running (it failed before stopping it) is killed with the test.
    deinit {
        if isRunning {
            kill(process.processIdentifier, SIGKILL)
            _ = Self.reap(process, blocking: true)
        }
    }

    /// Everything the process printed so far.
    public var text: String { output.withLockedValue { $0 } }

    /// Waits (up to 30 s) for the ready line and returns the bound address of each transport.
    public func readyAddresses() async throws -> [SIPTransportKind: SocketAddress] {
        for _ in 0..<3_000 {
            if let line = text.split(separator: "\n").first(where: { $0.contains(" ready: ") }) {
                var result: [SIPTransportKind: SocketAddress] = [:]
                let list = line.split(separator: ":", maxSplits: 1)[1].split(separator: ";")[0]
                for item in list.split(separator: ",") {
                    let parts = item.split(separator: " ")
                    guard parts.count == 2, let kind = SIPTransportKind(rawValue: String(parts[0])),
                          let colon = parts[1].lastIndex(of: ":"), let port = Int(parts[1][parts[1].index(after: colon)...])
                    else { continue }
                    result[kind] = try SocketAddress(ipAddress: String(parts[1][..<colon]), port: port)
                }
                return result
            }
            guard isRunning else { throw ProcessFailure(output: text) }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ProcessFailure(output: text)
    }

    /// Sends a signal and waits (up to 30 s) for the process to end.
    public func stop(signal: Int32 = SIGTERM) async throws {
        kill(process.processIdentifier, signal)
        for _ in 0..<3_000 where isRunning {
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// `/bin/sh` arguments that run `program` for at most 300 s (then SIGKILL), for a program that
    /// closes the descriptors it inherits (dnsmasq, Kamailio). Foundation's exit-watching socket is
    /// one of them: Foundation would take such a program for ended and block its process-watching
    /// thread in `waitpid` until it really ends, stalling every other child's `waitUntilExit`
    /// (seen: the whole suite for minutes). The shell keeps its descriptors. Started from the test
    /// process, dnsmasq was seen outliving SIGTERM for an hour: a test ends it with `pkill -KILL -f`.
    public static func holdingDescriptors(_ program: String, _ arguments: [String]) -> [String] {
        ["-c", "timeout -s KILL 300 \"$0\" \"$@\" & wait $!", program] + arguments
    }

    /// Waits for a child to end and returns its exit status, whoever reaps it.
    public static func exitStatus(of process: Process) -> Int32 {
        if let status = reap(process, blocking: true) { return status }
        process.waitUntilExit()  // Foundation reaped it first.
        return process.terminationStatus
    }

    /// Whether the process still runs (reaping it here when it ended).
    public var isRunning: Bool {
        guard process.isRunning else { return false }
        return Self.reap(process, blocking: false) == nil && process.isRunning
    }

    /// Waits for a child ourselves: with many children started at once from several threads,
    /// Foundation sometimes never reaps one, and `waitUntilExit` would wait for ever. Returns the
    /// exit status, or `nil` while it runs (or when Foundation reaped it first).
    public static func reap(_ process: Process, blocking: Bool) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(process.processIdentifier, &status, blocking ? 0 : WNOHANG)
        guard result == process.processIdentifier else { return nil }
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// The process ended or never printed its ready line.
    public struct ProcessFailure: Error, CustomStringConvertible {
        /// What it printed.
        public var output: String
        public var description: String { "edgeway did not become ready; output:\n\(output)" }
    }
}

extension Pipe {
    /// A pipe whose ends are not inherited by processes spawned later (a test starts many at
    /// once; an inherited write end would keep another test's pipe open).
    public static func closedOnExec() -> Pipe {
        let pipe = Pipe()
        _ = fcntl(pipe.fileHandleForReading.fileDescriptor, F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipe.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
        return pipe
    }
}
