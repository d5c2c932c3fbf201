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

    @Test func aSessionEndsAfterItsIdleTimeoutAndAtLogout() {
        let clock = Clock()
        let sessions = WebSessions(idleTimeout: .seconds(60), clock: clock.read)
        let first = sessions.create(name: "admin")
        #expect(first.id != first.csrf && first.id.count == 64)
        clock.advance(.seconds(59))
        #expect(sessions.session(first.id)?.name == "admin", "used within the timeout: alive, and the timeout starts again")
        clock.advance(.seconds(59))
        #expect(sessions.session(first.id) != nil)
        clock.advance(.seconds(61))
        #expect(sessions.session(first.id) == nil, "idle past the timeout: ended")
        let second = sessions.create(name: "admin")
        sessions.end(second.id)
        #expect(sessions.session(second.id) == nil, "logged out")
        #expect(sessions.session(nil) == nil && sessions.session("forged") == nil)
    }

    @Test func repeatedFailuresFromOneSourceLockItOutForAWhile() {
        let clock = Clock()
        let sessions = WebSessions(idleTimeout: .seconds(60), clock: clock.read)
        for attempt in 1..<WebSessions.failureLimit {
            #expect(!sessions.failed("192.0.2.1"), "failure \(attempt) does not lock out yet")
        }
        #expect(sessions.retryAfter("192.0.2.1") == nil)
        #expect(sessions.failed("192.0.2.1"), "the fifth failure locks the source out")
        #expect(sessions.retryAfter("192.0.2.1") == 301)
        #expect(sessions.retryAfter("192.0.2.2") == nil, "another source may still log in")
        clock.advance(WebSessions.lockout)
        #expect(sessions.retryAfter("192.0.2.1") == nil, "the lockout ends")
        // Failures spread wider than the window never add up to a lockout.
        for _ in 0..<10 {
            #expect(!sessions.failed("192.0.2.3"))
            clock.advance(.seconds(80))
        }
        // A success forgets the failures before it.
        for _ in 1..<WebSessions.failureLimit { _ = sessions.failed("192.0.2.4") }
        sessions.succeeded("192.0.2.4")
        #expect(!sessions.failed("192.0.2.4"))
    }

    @Test func formFieldsAreDecodedAsBrowsersEncodeThem() {
        let fields = AdminAccessMiddleware.form("csrf=ab12&text=a+marker%20%22quoted%22&empty=&csrf=second")
        #expect(fields == ["csrf": "ab12", "text": "a marker \"quoted\"", "empty": ""])
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
