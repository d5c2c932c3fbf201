import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The PostgreSQL database a registrar cluster shares (SPEC B30, B35): a `PostgresClient` pool
/// from a `postgres://` URL, run as a `Service`, with the tables created once by whichever
/// registrar gets there first, and a deadline on every use (``withDeadline(_:_:)``).
///
/// When a call fails, the server is probed every 500 ms on a connection of its own; once it
/// answers while the pool still does not (the pool's reconnection backoff grows to a minute
/// during a long outage) and no store call has succeeded meanwhile (a busy pool is not a stalled
/// one), a new pool replaces the old one, so service returns within about a second of the
/// server's return however long it was away.
///
/// Run ``run()`` (or hand the database to a `ServiceGroup`) before using the stores built on it.
public final class PostgresDatabase: Service, Sendable {
    /// How long one store call may take, from asking the pool for a connection to the answer.
    let deadline: Duration
    let logger: Logger
    private let clientConfiguration: PostgresClient.Configuration
    private let probeConfiguration: PostgresConnection.Configuration
    private let pool: Mutex<Pool>
    private let migrated = Mutex(false)

    private struct Pool {
        var client: PostgresClient
        var runner: Task<Void, Never>?
        var running = false
        var probing = false
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
        pool = Mutex(Pool(client: PostgresClient(configuration: configuration, backgroundLogger: logger)))
        self.deadline = deadline
        self.logger = logger
    }

    /// The pool in use.
    var client: PostgresClient { pool.withLock { $0.client } }

    /// Runs the pool until the task is cancelled or the service group shuts down.
    public func run() async throws {
        pool.withLock { pool in
            pool.running = true
            let client = pool.client
            pool.runner = Task { await client.run() }
        }
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3_600)) }
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
                guard let connection = try? await PostgresConnection.connect(configuration: probeConfiguration, id: 0, logger: logger)
                else { continue }
                try? await connection.close()
                let client = client
                let poolAnswers = (try? await Self.race("probing the pool", within: .seconds(1)) {
                    _ = try await client.query("SELECT 1", logger: self.logger)
                }) != nil
                if !poolAnswers, pool.withLock({ $0.successes == successes }) { replacePool() }
                return
            }
        }
    }

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

    /// Creates the tables if they are missing, under an advisory lock so that registrars starting
    /// together do it once. Nothing existing is deleted: a registrar that starts never touches
    /// its siblings' bindings. Done once per process; every store call waits for it.
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

    /// `pg_advisory_xact_lock` key of schema creation.
    private static let migrationLock: Int64 = 0x6564_6765_7761_7901

    /// The URL without its password, for messages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }
}
