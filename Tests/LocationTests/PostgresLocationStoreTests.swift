import Foundation
import Location
import LocationPostgres
import PostgresTestSupport
import SIPCore
import Synchronization
import Testing
import TestSupport

/// The PostgreSQL stores a registrar cluster shares (SPEC B30, B35), against a real PostgreSQL.
@Suite("PostgreSQL location store")
struct PostgresLocationStoreTests {
    let aor = "sip:alice@example.com"

    /// A database of its own, its pool running for the test's length.
    func withDatabase<T>(_ url: String? = nil, _ body: (PostgresDatabase) async throws -> T) async throws -> T {
        let fresh: String
        if let url { fresh = url } else { fresh = try await TestPostgres.freshDatabase() }
        // A deadline for a loaded test machine: 50 updates of one address of record queue on its lock.
        let database = try PostgresDatabase(url: fresh, deadline: .seconds(20))
        let running = Task { try await database.run() }
        defer { running.cancel() }
        return try await body(database)
    }

    func register(callID: String, cseq: Int, expires: Int = 600) -> SIPMessage {
        try! SIPParser.parse("""
            REGISTER sip:example.com SIP/2.0\r
            Via: SIP/2.0/TLS 192.0.2.10:58980;branch=z9hG4bK\(callID)\(cseq)\r
            Max-Forwards: 70\r
            From: <sip:alice@example.com>;tag=f\r
            To: <sip:alice@example.com>\r
            Call-ID: \(callID)\r
            CSeq: \(cseq) REGISTER\r
            Contact: \(MRAFixtures.contact)\r
            Expires: \(expires)\r
            Content-Length: 0\r
            \r

            """)
    }

    /// What a registrar does with a REGISTER: the binding rules inside the store's update.
    @discardableResult
    func apply(_ request: SIPMessage, via path: String, to store: PostgresLocationStore) async throws -> Bool {
        let aor = aor
        return try await store.update(aor: aor) { bindings in
            guard case .accept(let accepted, _) = BindingRules.apply(request, aor: aor, to: bindings, pathIdentity: path,
                                                                     policy: RegistrationPolicy(), now: 1_000_000) else { return false }
            bindings = accepted
            return true
        }
    }

    @Test func conformsToTheLocationStoreSuite() async throws {
        try await withDatabase { database in
            let failures = try await LocationStoreConformance.failures(of: PostgresLocationStore(database: database))
            #expect(failures == [])
        }
    }

    /// Two registrars apply REGISTERs of one phone at the same moment, in both orders, round
    /// after round: the binding left is always the highest CSeq's (RFC 3261 §10.3 step 7),
    /// one row, never two.
    @Test func twoRegistrarsRacingOnOneBindingLeaveTheWinnerByCSeq() async throws {
        let url = try await TestPostgres.freshDatabase()
        try await withDatabase(url) { first in
            try await withDatabase(url) { second in
                let one = PostgresLocationStore(database: first), two = PostgresLocationStore(database: second)
                for round in 0..<20 {
                    let low = register(callID: "race", cseq: 2 * round + 1), high = register(callID: "race", cseq: 2 * round + 2)
                    let (lowStore, highStore) = round.isMultiple(of: 2) ? (one, two) : (two, one)
                    async let a = apply(low, via: "edge-1/registrar-1", to: lowStore)
                    async let b = apply(high, via: "edge-1/registrar-2", to: highStore)
                    _ = try await (a, b)
                    let bindings = try await one.bindings(for: aor)
                    #expect(bindings.map(\.cseq) == [UInt32(2 * round + 2)], "round \(round): \(bindings)")
                }
                #expect(try await two.count() == 1)
            }
        }
    }

    /// The phone re-registers through the other registrar with a new Call-ID (as after a
    /// failover): its row is replaced, not duplicated; a third process starting on the same
    /// database deletes nothing (a Kamailio cluster's known start-up fault).
    @Test func aReRegistrationThroughTheOtherRegistrarReplacesAndAStartDeletesNothing() async throws {
        let url = try await TestPostgres.freshDatabase()
        try await withDatabase(url) { first in
            try await withDatabase(url) { second in
                let one = PostgresLocationStore(database: first), two = PostgresLocationStore(database: second)
                #expect(try await apply(register(callID: "before", cseq: 1), via: "edge-1/registrar-1", to: one))
                #expect(try await apply(register(callID: "after", cseq: 1), via: "edge-2/registrar-2", to: two))
                let bindings = try await one.bindings(for: aor)
                #expect(bindings.count == 1)
                #expect(bindings.first?.callID == "after")
                #expect(bindings.first?.pathIdentity == "edge-2/registrar-2")
            }
        }
        try await withDatabase(url) { third in
            let bindings = try await PostgresLocationStore(database: third).bindings(for: aor)
            #expect(bindings.map(\.callID) == ["after"])
        }
    }

    /// An update that waits past its deadline on another registrar's lock of the same phone is
    /// answered as failed, and must not commit later behind the answer's back.
    @Test func anUpdatePastItsDeadlineIsRolledBack() async throws {
        let url = try await TestPostgres.freshDatabase()
        try await withDatabase(url) { holder in
            let quick = try PostgresDatabase(url: url, deadline: .milliseconds(500))
            let running = Task { try await quick.run() }
            defer { running.cancel() }
            let aor = aor
            // Both connected, and past the tables' creation, before the race begins.
            _ = try await PostgresLocationStore(database: quick).bindings(for: "sip:warm-up@example.com")
            _ = try await PostgresLocationStore(database: holder).bindings(for: "sip:warm-up@example.com")
            // The other registrar holds the phone's lock until the late update has failed.
            let holding = Flag()
            let release = DispatchSemaphore(value: 0)
            async let held: Void = PostgresLocationStore(database: holder).update(aor: aor) { _ in
                holding.set()
                _ = release.wait(timeout: .now() + 60)
            }
            try await eventually("the other registrar holds the lock") { holding.isSet }
            await #expect(throws: PostgresDatabaseError.self) {
                try await apply(register(callID: "late", cseq: 1), via: "edge-1/registrar-2", to: PostgresLocationStore(database: quick))
            }
            release.signal()
            try await held
            try await Task.sleep(for: .milliseconds(500))
            let bindings = try await PostgresLocationStore(database: holder).bindings(for: aor)
            #expect(bindings.isEmpty, "the late update rolled back: \(bindings)")
        }
    }

    @Test func accountsAreSharedAndReplaced() async throws {
        try await withDatabase { database in
            let accounts = PostgresAccountStore(database: database)
            let alice = Account(username: "alice", realm: "example.com", ha1MD5: "m1", ha1SHA256: "s1")
            try await accounts.save(alice)
            try await accounts.save(Account(username: "alice", realm: "example.com", ha1MD5: "m2", ha1SHA256: "s2"))
            try await accounts.save(Account(username: "bob", realm: "example.com", ha1MD5: "m3", ha1SHA256: "s3"))
            #expect(try await accounts.account(username: "alice", realm: "example.com")?.ha1MD5 == "m2")
            #expect(try await accounts.all().map(\.username) == ["alice", "bob"])
            #expect(try await accounts.remove(username: "bob", realm: "example.com"))
            let removedAgain = try await accounts.remove(username: "bob", realm: "example.com")
            #expect(!removedAgain)
            #expect(try await accounts.account(username: "bob", realm: "example.com") == nil)
        }
    }

    /// A database that accepts the connection and never answers: every call fails at its
    /// deadline with a cause (while the tables are not known to exist, at the 10 s of their
    /// creation), instead of hanging the registrar.
    @Test func aSilentDatabaseFailsAtTheDeadline() async throws {
        let silent = try SilentListener()
        defer { silent.close() }
        let database = try PostgresDatabase(url: "postgres://edgeway@127.0.0.1:\(silent.port)/postgres", deadline: .milliseconds(300))
        let running = Task { try await database.run() }
        defer { running.cancel() }
        let started = ContinuousClock.now
        await #expect(throws: PostgresDatabaseError.self) {
            try await PostgresLocationStore(database: database).bindings(for: aor)
        }
        #expect(ContinuousClock.now - started < .seconds(30), "failed at its deadline, not after the pool gave up")
        do {
            _ = try await PostgresAccountStore(database: database).all()
            Issue.record("a silent database answered")
        } catch let error as PostgresDatabaseError {
            #expect("\(error)".contains("no answer from PostgreSQL within"), "\(error)")
        }
    }

    /// `run()` keeps the pool until its task is cancelled, then stops it and returns.
    @Test func runReturnsWhenCancelled() async throws {
        let database = try PostgresDatabase(url: try await TestPostgres.freshDatabase())
        let running = Task { try await database.run() }
        #expect(try await PostgresAccountStore(database: database).all().isEmpty, "the pool serves while run() runs")
        running.cancel()
        let returned = Flag()
        Task { _ = try? await running.value; returned.set() }
        try await eventually("run() returned after its cancellation", seconds: 10) { returned.isSet }
    }

    @Test func aURLThatIsNotPostgresIsRefusedWithItsShape() {
        #expect(throws: PostgresDatabaseError.url("expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE without parameters, got mysql://u:***@h/d")) {
            try PostgresDatabase(url: "mysql://u:secret@h/d")
        }
        #expect(throws: PostgresDatabaseError.self, "sslmode is not supported: refused, not ignored") {
            try PostgresDatabase(url: "postgres://u@h/d?sslmode=require")
        }
    }
}

/// A loopback TCP listener that never accepts: connections complete in the kernel's backlog
/// and then hear nothing.
struct SilentListener {
    let socket: Int32
    let port: Int

    init() throws {
        socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let socket = socket
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && listen(socket, 16) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard listening else { throw PostgresDatabaseError.url("no loopback listener") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Foundation.close(socket) }
}

/// A flag one task sets and another reads.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
