import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The PostgreSQL database a registrar cluster shares (SPEC B30, B35): a `PostgresClient` pool
/// from a `postgres://` URL, run as a `Service`, with the tables created once by whichever
/// registrar gets there first, and a deadline on every use (``withDeadline(_:_:)``).
///
/// When a call fails, the server is probed every 500 ms on a connection of its own. While a probe
/// fails, store calls fail at once with its cause (`connection refused`, an authentication or
/// database error) instead of waiting out the deadline. Once the server answers while the pool
/// still does not (the pool's reconnection backoff grows to a minute during a long outage) and no
/// store call has succeeded meanwhile (a busy pool is not a stalled one), a new pool replaces the
/// old one, so service returns within about a second of the server's return however long it was
/// away. Each change is one log line: `PostgreSQL unreachable: …`, `PostgreSQL answers again`.
///
/// The pool runs from creation; ``run()`` (or a `ServiceGroup`) keeps it until cancelled and
/// then shuts it down.
public final class PostgresDatabase: Service, Sendable {
    /// How long one store call may take, from asking the pool for a connection to the answer.
    let deadline: Duration
    let logger: Logger
    private let driverLogger: Logger
    private let clientConfiguration: PostgresClient.Configuration
    private let probeConfiguration: PostgresConnection.Configuration
    private let pool: Mutex<Pool>
    private let migrated = Mutex(false)

    private struct Pool {
        var client: PostgresClient
        var runner: Task<Void, Never>?
        var running = true
        var probing = false
        /// Why the last probe could not connect, while the server is taken to be down.
        var down: String?
        /// Store calls that succeeded so far: a pool that keeps serving is busy, not stalled.
        var successes = 0
    }

    /// Creates the pool for `url`: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (port 5432 by
    /// default; TLS is not used, so keep the database on a trusted network or loopback). Each
    /// session's `statement_timeout` and `lock_timeout` are set just under the deadline, so the
    /// database itself ends work nobody waits for.
    ///
    /// - Parameters:
    ///   - deadline: the longest a store call may take before it fails with
    ///     ``PostgresDatabaseError/deadline(_:)``. Default 2 s.
    ///   - maximumConnections: the pool's size. Default 8.
    /// - Throws: ``PostgresDatabaseError/url(_:)`` when the URL is not of that form.
    public init(url: String, deadline: Duration = .seconds(2), maximumConnections: Int = 8,
                logger: Logger = Logger(label: "edgeway.postgres")) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty, components.query == nil
        else {
            throw PostgresDatabaseError.url("expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE without parameters, got \(Self.redacted(url))")
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let database = path.isEmpty ? nil : path
        let port = components.port ?? 5432
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: components.password,
                                                         database: database, tls: .disable)
        configuration.options.connectTimeout = deadline
        configuration.options.maximumConnections = maximumConnections
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(10))
        let (seconds, attoseconds) = deadline.components
        let serverTimeout = max(100, seconds * 1_000 + attoseconds / 1_000_000_000_000_000 - 100)
        configuration.options.additionalStartupParameters = [("statement_timeout", "\(serverTimeout)"), ("lock_timeout", "\(serverTimeout)")]
        clientConfiguration = configuration
        var probe = PostgresConnection.Configuration(host: host, port: port, username: user, password: components.password,
                                                     database: database, tls: .disable)
        probe.options.connectTimeout = .seconds(1)
        probeConfiguration = probe
        // The driver's own lines (every failed connection attempt) only from warnings up; this
        // type logs each change of the server's state once.
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let client = PostgresClient(configuration: configuration, backgroundLogger: quiet)
        pool = Mutex(Pool(client: client, runner: Task { await client.run() }))
        self.deadline = deadline
        self.logger = logger
        self.driverLogger = quiet
    }

    /// The pool in use.
    var client: PostgresClient { pool.withLock { $0.client } }

    /// Keeps the pool until the task is cancelled or the service group shuts down, then stops it.
    public func run() async throws {
        // Nothing to do but wait: a stream that never yields ends when the task is cancelled.
        let (cancelled, keep) = AsyncStream<Never>.makeStream()
        for await _ in cancelled {}
        keep.finish()
        let runner = pool.withLock { pool in
            pool.running = false
            defer { pool.runner = nil }
            return pool.runner
        }
        runner?.cancel()
        await runner?.value
    }

    /// A store call failed: probe the server in the background (once at a time) until the pool
    /// works again, replacing the pool if the server answers and the pool does not.
    func noteFailure() {
        let start = pool.withLock { pool in
            guard pool.running, !pool.probing else { return false }
            pool.probing = true
            return true
        }
        guard start else { return }
        Task {
            defer { pool.withLock { $0.probing = false } }
            while pool.withLock({ $0.running }) {
                let successes = pool.withLock { $0.successes }
                try? await Task.sleep(for: .milliseconds(500))
                guard await probe() == nil else { continue }
                let client = client
                let poolAnswers = (try? await Self.race("probing the pool", within: .seconds(1)) {
                    _ = try await client.query("SELECT 1", logger: self.logger)
                }) != nil
                if !poolAnswers, pool.withLock({ $0.successes == successes }) { replacePool() }
                return
            }
        }
    }

    /// Connects once on a connection of its own (1 s at most) and returns why that failed, or
    /// `nil` when the server answered; notes and logs a change of the server's state. A node
    /// calls it at start to say at once when its store cannot be reached.
    @discardableResult
    public func probe() async -> String? {
        let cause: String?
        do {
            let connection = try await PostgresConnection.connect(configuration: probeConfiguration, id: 0, logger: driverLogger)
            try? await connection.close()
            cause = nil
        } catch {
            cause = Self.describe(error)
        }
        let before = pool.withLock { pool in
            defer { pool.down = cause }
            return pool.down
        }
        if let cause, before == nil {
            logger.warning("PostgreSQL unreachable: \(cause); store calls fail until it answers")
        } else if cause == nil, before != nil {
            logger.notice("PostgreSQL answers again")
        }
        return cause
    }

    /// Why the server is taken to be down, while probes fail (`nil`: it answers).
    public var down: String? { pool.withLock { $0.down } }

    /// A store call succeeded.
    func noteSuccess() {
        pool.withLock { $0.successes &+= 1 }
    }

    private func replacePool() {
        let fresh = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        let old = pool.withLock { pool -> Task<Void, Never>? in
            guard pool.running else { return nil }
            defer { pool.runner = Task { await fresh.run() } }
            pool.client = fresh
            return pool.runner
        }
        old?.cancel()
        logger.notice("PostgreSQL answers again while the pool still waits to reconnect: a new pool replaces it")
    }

    /// Whether this process has made sure the tables exist.
    var isMigrated: Bool { migrated.withLock { $0 } }

    /// The longest the tables' creation may take (10 s), against the session's timeouts too.
    static let migrationDeadline: Duration = .seconds(10)

    /// Creates the tables if they are missing, under an advisory lock so that registrars starting
    /// together do it once. Nothing existing is deleted: a registrar that starts never touches
    /// its siblings' bindings. Done once per process; every store call waits for it.
    func migrateIfNeeded() async throws {
        if isMigrated { return }
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SET LOCAL statement_timeout = '10s'", logger: logger)
            try await connection.query("SET LOCAL lock_timeout = '10s'", logger: logger)
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger: logger)
            for statement in PostgresSchema.statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        }
        migrated.withLock { $0 = true }
    }

    /// `pg_advisory_xact_lock` key of schema creation.
    private static let migrationLock: Int64 = 0x6564_6765_7761_7901

    /// The URL without its password, for messages.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }
}
