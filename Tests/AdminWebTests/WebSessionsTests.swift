@testable import AdminWeb
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// The web UI's sessions and login throttle on an injected clock (SPEC B23, B28).
struct WebSessionsTests {
    final class Clock: Sendable {
        let now = NIOLockedValueBox(NIODeadline.uptimeNanoseconds(1_000_000_000))
        func advance(_ amount: TimeAmount) { now.withLockedValue { $0 = $0 + amount } }
        func read() -> NIODeadline { now.withLockedValue { $0 } }
    }

    @Test func aSessionEndsAfterItsIdleTimeoutItsLifetimeAndAtLogout() {
        let clock = Clock()
        let sessions = WebSessions(idleTimeout: .seconds(60), clock: clock.read)
        let first = sessions.create(name: "admin", passwordHash: "$2b$12$x")
        #expect(first.id != first.csrf && first.id.count == 64)
        clock.advance(.seconds(59))
        #expect(sessions.session(first.id)?.name == "admin", "used within the timeout: alive, and the timeout starts again")
        clock.advance(.seconds(59))
        #expect(sessions.session(first.id) != nil)
        clock.advance(.seconds(61))
        #expect(sessions.session(first.id) == nil, "idle past the timeout: ended")
        let second = sessions.create(name: "admin", passwordHash: "$2b$12$x")
        sessions.end(second.id)
        #expect(sessions.session(second.id) == nil, "logged out")
        #expect(sessions.session(nil) == nil && sessions.session("forged") == nil)
        let busy = sessions.create(name: "admin", passwordHash: "$2b$12$x")
        for _ in 0..<(13 * 60) {
            clock.advance(.seconds(59))
            _ = sessions.session(busy.id)
        }
        #expect(sessions.session(busy.id) == nil, "however busy, a session ends 12 hours after its login")
    }

    @Test func loginsBegunFromOneSourceAreLimitedAndALockoutEnds() {
        let clock = Clock()
        let sessions = WebSessions(idleTimeout: .seconds(60), clock: clock.read)
        for attempt in 1...WebSessions.failureLimit {
            #expect(sessions.begin("192.0.2.1") == nil, "attempt \(attempt) may go on")
        }
        #expect(sessions.begin("192.0.2.1") == 300, "the sixth attempt, even before the others have failed, is refused")
        #expect(sessions.begin("192.0.2.1") == 300)
        #expect(sessions.begin("192.0.2.2") == nil, "another source may still log in")
        clock.advance(WebSessions.lockout)
        #expect(sessions.begin("192.0.2.1") == nil, "the lockout ends")
        // Attempts spread wider than the window never add up to a lockout.
        for _ in 0..<10 {
            #expect(sessions.begin("192.0.2.3") == nil)
            clock.advance(.seconds(80))
        }
        // A success forgets the attempts before it.
        for _ in 1..<WebSessions.failureLimit { _ = sessions.begin("192.0.2.4") }
        sessions.succeeded("192.0.2.4")
        for _ in 1...WebSessions.failureLimit { #expect(sessions.begin("192.0.2.4") == nil) }
        // Many sources: the table stays bounded.
        for index in 0..<(WebSessions.sourceCapacity + 100) { _ = sessions.begin("2001:db8::\(String(index, radix: 16))") }
        #expect(sessions.begin("192.0.2.9") == nil)
    }

    @Test func formFieldsAreDecodedAsBrowsersEncodeThemAndMalformedOnesRefused() {
        let fields = AdminAccessMiddleware.form("csrf=ab12&text=a+marker%20%22quoted%22&empty=&csrf=second&bare")
        #expect(fields == ["csrf": "ab12", "text": "a marker \"quoted\"", "empty": "", "bare": ""])
        #expect(AdminAccessMiddleware.form("") == [:])
        #expect(AdminAccessMiddleware.form("a b=c d\"#é") == ["a b": "c d\"#é"], "raw characters a browser would not send are taken as they are")
        #expect(AdminAccessMiddleware.form("text=100%") == nil, "a lone %")
        #expect(AdminAccessMiddleware.form("text=%zz") == nil)
        #expect(AdminAccessMiddleware.form("text=%ff%fe") == nil, "not UTF-8")
    }

    @Test func pagesStartAtAPageBoundaryNeverPastTheLastAndAnEmptyOneSaysSo() {
        #expect(registrationPageStart(offset: 0, total: 10_000, limit: 50) == 0)
        #expect(registrationPageStart(offset: 5_020, total: 10_000, limit: 50) == 5_000)
        #expect(registrationPageStart(offset: Int.max, total: 10_000, limit: 50) == 9_950)
        #expect(registrationPageStart(offset: -5, total: 10, limit: 50) == 0)
        #expect(registrationPageStart(offset: 120, total: 0, limit: 50) == 0)
        let page = WebPages.registrations([], total: 0, offset: 0, search: "bob")
        #expect(page["range"] as? String == "No registrations for bob.")
        #expect(page["previous"] == nil && page["next"] == nil)
    }

    @Test func passwordsAreBcryptHashedAndChecked() async throws {
        let password = AdminPasswords.generate()
        #expect(password.count == 20)
        let hash = try await AdminPasswords.hash(password)
        #expect(hash.hasPrefix("$2"))
        #expect(try await AdminPasswords.verify(password, hash: hash))
        #expect(try await !AdminPasswords.verify(password + "x", hash: hash))
        #expect(try await !AdminPasswords.verify(password, hash: nil))
    }
}
