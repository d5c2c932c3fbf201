import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import SIPTransport
import STUNCore

/// A lock-protected value for what tests record from other threads.
public final class LockedBox<Value: Sendable>: Sendable {
    private let box: NIOLockedValueBox<Value>

    /// Creates a box holding `value`.
    public init(_ value: Value) { box = NIOLockedValueBox(value) }

    /// Changes the value.
    public func mutate(_ body: (inout Value) -> Void) { box.withLockedValue { body(&$0) } }

    /// Reads the value.
    public func read<T>(_ body: (Value) -> T) -> T { box.withLockedValue { body($0) } }
}

/// Collects the STUN messages a test's client receives, and waits for the answer to a request.
public final class STUNAnswers: Sendable {
    private let messages = LockedBox<[STUNMessage]>([])

    /// Creates an empty recorder.
    public init() {}

    /// Records STUN events; pass it as a transport's event handler.
    @Sendable public func record(_ event: SIPTransportEvent) {
        if case .stun(let bytes, _) = event, let message = try? STUNMessage.decode(Array(bytes.readableBytesView)) {
            messages.mutate { $0.append(message) }
        }
    }

    /// The message with this transaction id, waiting up to 10 s.
    public func answer(to transactionID: [UInt8]) async throws -> STUNMessage {
        guard let found = await answer(to: transactionID, waitingMilliseconds: 10_000) else {
            throw SIPTransportError(detail: "no STUN answer within 10 s")
        }
        return found
    }

    /// The message with this transaction id, or `nil` when none came within the wait.
    public func answer(to transactionID: [UInt8], waitingMilliseconds: Int) async -> STUNMessage? {
        for _ in 0..<max(1, waitingMilliseconds / 5) {
            if let found = messages.read({ $0.first { $0.transactionID == transactionID } }) { return found }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }
}

/// Polls `condition` every 10 ms until it holds, for at most `seconds`.
public func eventually(_ what: String, seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
    let rounds = Int(seconds * 100)
    for _ in 0..<rounds {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw SIPTransportError(detail: "not within \(seconds) s: \(what)")
}

/// Base ports for labs started by tests: one test process hands each lab its own range, below
/// the ephemeral ports (32,768 and up) other connections take.
public enum LabPorts {
    /// A lab spans its base port to base + 1,942 (the traversal ports); slots are 2,000 apart.
    private static let slot = 2_000
    /// Ten disjoint slots from 10,000 to 29,999, below the system's ephemeral ports (32,768 up);
    /// the first slot is random so that two test runs on one machine seldom meet.
    private static let next = NIOLockedValueBox(Int.random(in: 0..<10))

    /// A base port whose lab ports are free now: the next of the ten slots whose main ports
    /// (registrar, edges, cores, PostgreSQL, the edges' own and traversal ports) all bind, so a
    /// slot still held by a long-running lab (two minutes of baresip, a chaos run) is passed over.
    /// When none is free, the next slot anyway (the lab then says which port is taken).
    public static func base() -> Int {
        next.withLockedValue { index in
            for _ in 0..<10 {
                let base = 10_000 + index * slot
                index = (index + 1) % 10
                if free(base) { return base }
            }
            return 10_000 + index * slot
        }
    }

    /// Whether the lab ports of `base` can be bound on 127.0.0.1 over TCP now.
    static func free(_ base: Int) -> Bool {
        [0, 1, 2, 10, 11, 20, 21, 22, 30, 101, 102, 1941, 1942].allSatisfy { offset in
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { return false }
            defer { close(descriptor) }
            // As the lab's listeners do: a port left in TIME_WAIT by an earlier lab is free for
            // them, so only a socket bound now (a running lab's listener) makes the slot busy.
            var yes: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(base + offset).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
        }
    }
}

/// A new, empty folder under the temporary directory, named `PREFIX-UUID`; the caller removes it.
public func temporaryFolder(_ prefix: String) throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}
