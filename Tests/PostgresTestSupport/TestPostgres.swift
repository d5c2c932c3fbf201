import EdgewayNode
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL the tests use: the one `.ci/run` started (`EDGEWAY_TEST_POSTGRES_URL`), else
/// one this test process starts in a temporary folder (stopped when the process ends). Each test
/// gets a database of its own, so tests run in parallel without seeing each other's rows.
public enum TestPostgres {
    private static let server = Task<String, any Error> {
        if let url = ProcessInfo.processInfo.environment["EDGEWAY_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-test-postgres-\(getpid())")
        return try await PostgresServer.start(in: folder, temporary: true).url
    }

    /// The server's URL (its `postgres` database).
    public static func serverURL() async throws -> String {
        try await server.value
    }

    /// A new, empty database on the test server, by URL.
    public static func freshDatabase() async throws -> String {
        let url = try await serverURL()
        guard var components = URLComponents(string: url), let host = components.host, let user = components.user else {
            throw PostgresTestError(description: "EDGEWAY_TEST_POSTGRES_URL is not a postgres:// URL: \(url)")
        }
        let name = "edgeway_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        let configuration = PostgresConnection.Configuration(host: host, port: components.port ?? 5432, username: user,
                                                             password: components.password, database: "postgres", tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "edgeway.test.postgres"))
        do {
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "edgeway.test.postgres"))
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        components.path = "/" + name
        return components.string!
    }
}

/// A test database could not be prepared.
public struct PostgresTestError: Error, CustomStringConvertible {
    public var description: String
}
