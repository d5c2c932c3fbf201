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

    /// Runs `edgeway` with arguments to completion and returns its output and status; the wait
    /// happens on a thread of its own, not on one of Swift's shared executor threads.
    public static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try runBlocking(arguments) })
            }
        }
    }

    /// Runs `edgeway` with arguments to completion, blocking the calling thread.
    public static func runBlocking(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Starts a long-running `edgeway` command, or another program given by `executable`.
    public init(executable: String? = nil, _ arguments: [String]) throws {
        process.executableURL = executable.map { URL(fileURLWithPath: $0) } ?? Self.binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [output] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            output.withLockedValue { $0 += text }
        }
        try process.run()
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
            guard process.isRunning else { throw ProcessFailure(output: text) }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ProcessFailure(output: text)
    }

    /// Sends a signal and waits (up to 30 s) for the process to end.
    public func stop(signal: Int32 = SIGTERM) async throws {
        kill(process.processIdentifier, signal)
        for _ in 0..<3_000 where process.isRunning {
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The process ended or never printed its ready line.
    public struct ProcessFailure: Error, CustomStringConvertible {
        /// What it printed.
        public var output: String
        public var description: String { "edgeway did not become ready; output:\n\(output)" }
    }
}
