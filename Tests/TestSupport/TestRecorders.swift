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

/// Base ports for labs started by tests: one test process hands each lab its own range (a lab
/// uses base … base + 1942, so ranges are 2,000 apart), below the ephemeral ports (32,768 and up)
/// other connections take. Five labs fit.
public enum LabPorts {
    private static let next = NIOLockedValueBox(Int.random(in: 200...210) * 100)

    /// A base port no other lab of this test process uses.
    public static func base() -> Int {
        next.withLockedValue { port in
            defer { port = port + 2_000 > 29_000 ? 20_000 : port + 2_000 }
            return port
        }
    }
}
