import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The PostgreSQL database a registrar cluster shares (SPEC B30, B35): a `PostgresClient` pool
/// from a `postgres://` URL, run as a `Service`, with the schema created and migrated once by
/// whichever registrar gets there first, and a deadline on every use.
///
/// Run ``run()`` (or hand the database to a `ServiceGroup`) before using the stores built on it.
public final class PostgresDatabase: Service, Sendable {
    /// The pool.
    let client: PostgresClient
    /// How long one store call may take, from asking the pool for a connection to the answer.
    let deadline: Duration
    let logger: Logger
    private let migrated = Mutex(false)

    /// Creates the pool for `url`: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (port 5432 by
    /// default; TLS is not used, so keep the database on a trusted network or loopback).
    ///
    /// - Parameters:
    ///   - deadline: the longest a store call may take before it fails with
    ///     ``PostgresDatabaseError/deadline(_:)``. Default 2 s.
    ///   - maximumConnections: the pool's size. Default 8.
    /// - Throws: ``PostgresDatabaseError/url(_:)`` when the URL is not of that form.
    public init(url: String, deadline: Duration = .seconds(2), maximumConnections: Int = 8,
                logger: Logger = Logger(label: "edgeway.postgres")) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty
        else {
            throw PostgresDatabaseError.url("expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, got \(Self.redacted(url))")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var configuration = PostgresClient.Configuration(host: host, port: components.port ?? 5432, username: user,
                                                         password: components.password, database: database.isEmpty ? nil : database,
                                                         tls: .disable)
        configuration.options.connectTimeout = deadline
        configuration.options.maximumConnections = maximumConnections
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(10))
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.deadline = deadline
        self.logger = logger
    }

    /// Runs the pool until the task is cancelled or the service group shuts down.
    public func run() async throws {
        await client.run()
    }

    /// Creates the tables if they are missing and applies migrations, under an advisory lock so
    /// that registrars starting together do it once. Nothing existing is deleted: a registrar
    /// that starts never touches its siblings' bindings. Done once per process; every store
    /// call waits for it.
    func migrateIfNeeded() async throws {
        if migrated.withLock({ $0 }) { return }
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            for statement in PostgresSchema.statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
        migrated.withLock { $0 = true }
    }

    /// Runs `body` against the pool with the schema in place, failing with
    /// ``PostgresDatabaseError/deadline(_:)`` when it has not finished within ``deadline``
    /// (the body is then cancelled; a transaction it held is rolled back by the database).
    func withDeadline<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let deadline = deadline
        return try await withCheckedThrowingContinuation { continuation in
            let race = DeadlineRace(continuation)
            let timer = Task {
                guard (try? await Task.sleep(for: deadline)) != nil else { return }
                race.finish(.failure(PostgresDatabaseError.deadline("\(what): no answer from PostgreSQL within \(deadline)")))
            }
            race.start(Task {
                let result: Result<T, any Error>
                do {
                    try await self.migrateIfNeeded()
                    result = .success(try await body())
                } catch {
                    result = .failure(PostgresDatabaseError.failed(what, Self.describe(error)))
                }
                timer.cancel()
                race.finish(result)
            })
        }
    }

    /// `pg_advisory_xact_lock` key of schema migration.
    private static let migrationLock: Int64 = 0x6564_6765_7761_7901

    /// A driver error in words an operator can act on (the server's message when there is one).
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return "PostgreSQL: \(message)" }
            return "PostgreSQL: \(error.code)\(error.underlying.map { " (\($0))" } ?? "")"
        }
        return "\(error)"
    }

    /// The URL without its password, for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }
}

/// The work of ``PostgresDatabase/withDeadline(_:_:)`` against its timer: whichever finishes
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
    /// The database answered with an error, or the connection failed.
    case failed(String, String)

    public var description: String {
        switch self {
        case .url(let text), .deadline(let text): text
        case .failed(let what, let cause): "\(what): \(cause)"
        }
    }
}
