import EdgewayNode
import Foundation
import Location
import LocationPostgres
import NIOConcurrencyHelpers
import NIOPosix
import PostgresTestSupport
import Registrar
import SIPCore
import SIPStack
import SIPTransport
import Testing
import TestSupport

/// Registrars sharing bindings in PostgreSQL (SPEC B30, B35): the database's loss is answered,
/// not waited on, and the registrar recovers by itself; a registrar's loss costs no phone.
@Suite("Registrar cluster on PostgreSQL", .serialized)
struct RegistrarClusterTests {
    /// 50 phones registered; PostgreSQL stopped for 20 s (long enough for the pool's own
    /// reconnection backoff to pass 5 s) while four senders keep registering: each REGISTER is
    /// answered 503 with Retry-After within the store's 2 s deadline (not the transaction's 32 s);
    /// after PostgreSQL is back, a REGISTER gets 200 within 5 s and every binding is there.
    @Test func aDatabaseStoppedUnderLoadIsAnswered503AndServiceComesBack() async throws {
        let data = try temporaryFolder("edgeway-cluster")
        defer { try? FileManager.default.removeItem(at: data) }
        // A port of the tests' own range: an ephemeral one could be taken by another test's
        // connection between its choice and the server's bind.
        var server = try await PostgresServer.start(in: data.appendingPathComponent("postgres"), port: LabPorts.base() + 30)
        let users = (1...50).map { "user\($0)" }
        // Seeding is not under test: a generous deadline for a loaded machine.
        let database = try PostgresDatabase(url: server.url, deadline: .seconds(30))
        let pool = Task { try await database.run() }
        for user in users {
            try await PostgresAccountStore(database: database).save(DigestAuthenticator.account(username: user, realm: "example.com", password: "pw"))
        }
        pool.cancel()
        var configuration = NodeConfiguration()
        configuration.data = data.appendingPathComponent("registrar").path
        configuration.listen = ["tcp": "127.0.0.1:0"]
        configuration.store = server.url
        let registrar = try await RegistrarNode(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton)
        let client = SIPStack(group: MultiThreadedEventLoopGroup.singleton)
        do {
            try await outage(server: &server, registrar: registrar, client: client, data: data, users: users)
        } catch {
            Issue.record(error)
        }
        // Stopped before the folder goes: pg_ctl needs its files.
        await client.transport.shutdown()
        await registrar.shutdown()
        await server.stop()
    }

    private func outage(server: inout PostgresServer, registrar: RegistrarNode, client: SIPStack, data: URL, users: [String]) async throws {
        let flow = try await client.transport.connect(.tcp, to: registrar.boundAddresses[.tcp]!)
        let cseqs = CSeqs()
        func register(_ user: String) async throws -> SIPMessage {
            try await DigestRegistration.register(client, on: flow, user: user, password: "pw", cseq: cseqs.next(user))
        }
        for user in users {
            #expect(try await register(user).statusLine?.statusCode == 200, "\(user) registered")
        }

        await server.stop()
        let outage = ContinuousClock.now
        let answers = try await withThrowingTaskGroup(of: [(status: Int, retryAfter: Bool, took: Duration)].self) { group in
            for sender in 0..<4 {
                group.addTask {
                    var answers: [(Int, Bool, Duration)] = []
                    var index = sender
                    while ContinuousClock.now - outage < .seconds(20) {
                        let sent = ContinuousClock.now
                        let answer = try await register(users[index % users.count])
                        answers.append((answer.statusLine?.statusCode ?? 0, answer.headers[.retryAfter] != nil, ContinuousClock.now - sent))
                        index += 4
                    }
                    return answers
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(answers.count >= 8, "REGISTERs kept being answered: \(answers.count)")
        #expect(answers.allSatisfy { $0.status == 503 && $0.retryAfter }, "\(answers.filter { $0.status != 503 || !$0.retryAfter })")
        #expect(answers.allSatisfy { $0.took < .seconds(10) }, "answered at the store's deadline, not the transaction's timeout")

        let folder = data.appendingPathComponent("registrar").path
        let down = try await EdgewayProcess.run(["xstatus", "alarms", "--data", folder])
        #expect(down.output.contains("store-unreachable") && down.output.contains("is unreachable: PostgreSQL: cannot connect"), "\(down.output)")

        server = try await PostgresServer.start(in: data.appendingPathComponent("postgres"), port: server.port)
        let back = ContinuousClock.now
        var recovered: Duration?
        while recovered == nil, ContinuousClock.now - back < .seconds(30) {
            if try await register("user1").statusLine?.statusCode == 200 { recovered = ContinuousClock.now - back }
            try await Task.sleep(for: .milliseconds(100))
        }
        let slowest = answers.map(\.took).max() ?? .zero
        print("database outage: \(answers.count) REGISTERs answered 503 in 20 s, slowest \(slowest); first 200 \(recovered.map { "\($0)" } ?? "never") after the database's return")
        #expect(recovered.map { $0 < .seconds(5) } == true, "full service within 5 s of the database's return: \(String(describing: recovered))")
        #expect(try await registrar.locations.count() == users.count, "no binding lost")
        let up = try await EdgewayProcess.run(["xstatus", "alarms", "--data", folder])
        #expect(up.output.contains("*s Alarms Count: 0"), "the alarm cleared: \(up.output)")
    }

    /// `edgeway users` works on the cluster's accounts through a registrar's configuration.
    @Test func usersAreManagedInTheSharedStore() async throws {
        let data = try temporaryFolder("edgeway-cluster")
        defer { try? FileManager.default.removeItem(at: data) }
        let config = data.appendingPathComponent("registrar.yaml")
        try "data: \(data.path)\nstore: \(try await TestPostgres.freshDatabase())\n".write(to: config, atomically: true, encoding: .utf8)
        let added = try await EdgewayProcess.run(["users", "add", "alice", "--password", "secret", "--config", config.path])
        #expect(added.status == 0, "\(added.output)")
        let listed = try await EdgewayProcess.run(["users", "list", "--config", config.path])
        #expect(listed.output == "sip:alice@example.com\n", "\(listed.output)")
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("accounts.sqlite").path), "not in SQLite")
    }

    @Test func aLabClusterNeedsASharedStore() async throws {
        let result = try await EdgewayProcess.run(["lab", "--registrars", "2", "--phones", "5", "--scenario", "registrar-loss"])
        #expect(result.status != 0)
        #expect(result.output.contains("--registrars 2 needs --store postgres"), "\(result.output)")
    }

    /// SPEC B35 with nodes as processes: registrar-1 (through which every phone registered) is
    /// killed with SIGKILL; calls reach the phones right away and while it is down; no phone fails
    /// over and no binding is lost; restarted, it serves alone while registrar-2 is killed.
    @Test func aRegistrarKilledCostsNoPhoneAndServesAgainAfterItsRestart() async throws {
        let data = try temporaryFolder("edgeway-cluster")
        defer { try? FileManager.default.removeItem(at: data) }
        let result = try await EdgewayProcess.run([
            "lab", "--processes", "--registrars", "2", "--store", "postgres", "--data", data.path, "--base-port", String(LabPorts.base()),
            "--scenario", "registrar-loss", "--phones", "500", "--keepalive", "1s", "--timeout", "500ms",
        ])
        // A crash report (the Swift runtime's backtrace) is shown from its start.
        let crash = result.output.range(of: "Program crashed").map { String(result.output[$0.lowerBound...].prefix(8_000)) }
        #expect(result.status == 0, "\(crash ?? String(result.output.suffix(3_000))))")
        for line in ["500 phones registered", "kill -9 registrar-1 (pid ", "registrar-1 restarted (pid ", "holding registrar-1 down for 4.5 seconds", "calls right after the kill: 10/10 answered",
                     "calls with registrar-1 down for 4.5 seconds: 10/10 answered", "calls through the restarted registrar-1 alone: 10/10 answered",
                     "phones 500, bindings 500, failed over 0; passed"] {
            #expect(result.output.contains(line), "\(line) in \(result.output.suffix(3_000))")
        }
    }
}

/// The next CSeq of each user's registration (a digest round trip takes two).
final class CSeqs: Sendable {
    private let values = NIOLockedValueBox<[String: Int]>([:])
    func next(_ user: String) -> Int {
        values.withLockedValue { values in
            defer { values[user, default: 1] += 2 }
            return values[user, default: 1]
        }
    }
}
