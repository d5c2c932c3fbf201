import Foundation
import PostgresNIO
import Synchronization

extension PostgresDatabase {
    /// Runs `body` against the pool with the tables in place, failing with
    /// ``PostgresDatabaseError/deadline(_:)`` when it has not finished within ``deadline``, or
    /// ``PostgresDatabaseError/failed(_:_:)`` naming the cause. On a deadline the body is
    /// cancelled: a transaction checks for that before it commits, and the sessions'
    /// `statement_timeout` and `lock_timeout` end a query still running, so late work rolls back.
    func withDeadline<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        if let cause = down {
            // The last probe failed: say why at once rather than wait out the deadline.
            noteFailure()
            throw PostgresDatabaseError.failed(what, "PostgreSQL unreachable: \(cause)")
        }
        do {
            // A fresh database's first use creates the tables: not a store call, so not held to
            // its deadline (a loaded machine took longer than 2 s to connect and create them).
            if !isMigrated {
                try await Self.race("creating the tables", within: max(deadline, Self.migrationDeadline)) { try await self.migrateIfNeeded() }
            }
            let value = try await Self.race(what, within: deadline) { try await body() }
            noteSuccess()
            return value
        } catch {
            noteFailure()
            throw error
        }
    }

    /// `body` against a timer: whichever finishes first answers; a timer that wins cancels the body
    /// and does not wait for it.
    static func race<T: Sendable>(_ what: String, within deadline: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let race = DeadlineRace(continuation)
            let timer = Task {
                guard (try? await Task.sleep(for: deadline)) != nil else { return }
                race.finish(.failure(PostgresDatabaseError.deadline("\(what): no answer from PostgreSQL within \(deadline)")))
            }
            race.start(Task {
                let result: Result<T, any Error>
                do {
                    result = .success(try await body())
                } catch {
                    result = .failure(PostgresDatabaseError.failed(what, describe(error)))
                }
                timer.cancel()
                race.finish(result)
            })
        }
    }

    /// A driver error in words an operator can act on: the server's message when there is one,
    /// and the cause inside a transaction error.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError, let cause = error.closureError ?? error.beginError ?? error.commitError {
            return describe(cause)
        }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return "PostgreSQL: \(message)" }
            // A socket error carries its errno deep in the driver's text: its name is what helps.
            let underlying = error.underlying.map { "\($0)" } ?? ""
            if let range = underlying.range(of: #"errno: \d+"#, options: .regularExpression),
               let number = Int32(underlying[range].dropFirst("errno: ".count)) {
                return "PostgreSQL: cannot connect (\(String(cString: strerror(number))))"
            }
            return "PostgreSQL: \(error.code)\(underlying.isEmpty ? "" : " (\(underlying))")"
        }
        return error is CancellationError ? "cancelled past its deadline" : "\(error)"
    }
}

/// The work of ``PostgresDatabase/race(_:within:_:)`` against its timer: whichever finishes
/// first resumes the caller; a timer that wins cancels the work.
private final class DeadlineRace<T: Sendable>: Sendable {
    private let state: Mutex<(waiting: CheckedContinuation<T, any Error>?, work: Task<Void, Never>?)>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        state = Mutex((continuation, nil))
    }

    func start(_ work: Task<Void, Never>) {
        state.withLock { $0.work = work }
    }

    func finish(_ result: Result<T, any Error>) {
        let (waiting, work) = state.withLock { state in
            defer { state.waiting = nil }
            return (state.waiting, state.work)
        }
        guard let waiting else { return }
        waiting.resume(with: result)
        if case .failure(PostgresDatabaseError.deadline) = result { work?.cancel() }
    }
}

/// Why a PostgreSQL store call failed.
public enum PostgresDatabaseError: Error, CustomStringConvertible, Equatable {
    /// The configured URL cannot be used.
    case url(String)
    /// The database did not answer in time (unreachable, stopped or overloaded).
    case deadline(String)
    /// The database answered with an error, or the connection failed: what was being done, and why.
    case failed(String, String)

    public var description: String {
        switch self {
        case .url(let text), .deadline(let text): text
        case .failed(let what, let cause): "\(what): \(cause)"
        }
    }
}
