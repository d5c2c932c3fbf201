@testable import AdminWeb
import Foundation
import NIOConcurrencyHelpers
import Settings
import SIPTransport
import Testing
import TestSupport

/// The web listener over real HTTP on 127.0.0.1 (plain, as allowed on loopback), driven with curl:
/// what a browser test does not reach — malformed and foreign bodies, hand-made URLs, empty
/// states, an account changed under a live session.
@Suite(.serialized) struct WebServerTests {
    /// A node with settings, 120 registrations and one admin; the rest answers as a node with
    /// nothing going on would.
    final class Node: AdministeredNode {
        let identity = "edge test-1"
        let settings: Settings?
        let accounts: AdminAccountStore?
        let commands = ["DiagnosticLogging Status"]
        let intrusion: IntrusionProtection? = nil

        init(folder: URL) throws {
            settings = try Settings(store: InMemorySettingsStore())
            accounts = try AdminAccountStore(path: folder.appendingPathComponent("admins.sqlite").path)
        }

        func statusLines(path: [String], user: String?) async -> [(path: String, value: String)] {
            [("Flows Count", "120"), ("Registrations Count", "120"), ("Alarms Count", "0")]
        }

        func run(command: String) async throws -> [String] {
            ["*r DiagnosticLoggingStatusResult (status=OK): no log has run"]
        }

        /// Serves pages as a role does: past the end, the last one.
        func registrationLines(user: String?, offset: Int, limit: Int) async -> (total: Int, offset: Int, lines: [(path: String, value: String)]) {
            let all = (1...120).map { "sip:user\($0)@example.com" }.filter { user == nil || $0.contains("\(user!)@") }
            let start = registrationPageStart(offset: offset, total: all.count, limit: limit)
            let page = all.dropFirst(start).prefix(limit)
            return (all.count, start, page.enumerated().map { ("Registrations Registration \($0.offset + 1) AOR", "\"\($0.element)\"") })
        }
    }

    /// `curl -s -i ARGS` against the server: status, headers (lowercased names) and body.
    static func curl(_ arguments: [String]) async throws -> (status: Int, headers: [String: String], body: String) {
        let result = try await EdgewayProcess.run(executable: "/usr/bin/curl", ["-s", "-i", "--max-time", "30"] + arguments)
        let parts = result.output.components(separatedBy: "\r\n\r\n")
        let head = parts.first?.components(separatedBy: "\r\n") ?? []
        let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased(), default: ""] += line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) + "\n"
        }
        return (status, headers, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    @Test func badInputGetsAClearAnswerAndAChangedAccountEndsItsSessions() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let node = try Node(folder: folder)
        try node.accounts!.save(name: "ops", passwordHash: try await AdminPasswords.hash("correct horse battery"), replacing: false)
        let server = try await AdminServer.startWeb(node: node, web: WebOptions(host: "127.0.0.1", port: 0, certificateChainPEM: nil,
                                                                                  privateKeyPEM: nil, idleTimeout: .seconds(900)), token: "t0ken")
        let base = "http://127.0.0.1:\(server.port)"
        let jar = folder.appendingPathComponent("cookies").path

        #expect(try await Self.curl(["\(base)/status/overview"]).headers["location"] == "/login\n", "a page without a session")
        let malformed = try await Self.curl(["-H", "Content-Type: application/x-www-form-urlencoded", "--data-binary", "csrf=%zz&a b", "\(base)/login"])
        #expect(malformed.status == 400 && malformed.body.contains("not percent-encoded"), "\(malformed)")
        let foreign = try await Self.curl(["-H", "Content-Type: text/plain", "--data-binary", "hello", "\(base)/login"])
        #expect(foreign.status == 415, "\(foreign)")
        #expect(try await Self.curl(["-d", "x=1", "\(base)/configuration/advanced"]).status == 401, "a form without a session")

        let login = try await Self.curl(["-c", jar, "-b", jar, "\(base)/login"])
        #expect(login.status == 200 && login.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        let token = try #require(login.body.range(of: #"name="csrf" value="[0-9a-f]+""#, options: .regularExpression).map {
            String(login.body[$0].dropFirst(#"name="csrf" value=""#.count).dropLast())
        })
        #expect(try await Self.curl(["-c", jar, "-b", jar, "-d", "csrf=\(token)&username=ops&password=wrong", "\(base)/login"]).status == 401)
        let accepted = try await Self.curl(["-c", jar, "-b", jar, "-d", "csrf=\(token)&username=ops&password=correct+horse+battery", "\(base)/login"])
        #expect(accepted.status == 303 && accepted.headers["set-cookie"]?.contains("HttpOnly") == true, "\(accepted)")
        #expect(accepted.headers["set-cookie"]?.contains("SameSite=Strict") == true)

        let far = try await Self.curl(["-b", jar, "\(base)/status/registrations?offset=9223372036854775807"])
        #expect(far.status == 200 && far.body.contains("Registrations 101–120 of 120."), "past the end: the last page")
        #expect(try await Self.curl(["-b", jar, "\(base)/status/registrations?offset=50"]).body.contains("Registrations 51–100 of 120."))
        let search = try await Self.curl(["-b", jar, "\(base)/status/registrations?user=user7%22%3E%3Cb%3E"])
        #expect(search.status == 200 && !search.body.contains("<b>") && search.body.contains("No registrations for user7&quot;&gt;&lt;b&gt;."))
        let logging = try await Self.curl(["-b", jar, "\(base)/maintenance/diagnostic-logging"])
        #expect(logging.status == 200 && !logging.body.contains("nil") && !logging.body.contains("id=\"download\"")
                && !logging.body.contains("id=\"error\""), "no bundle, no answer, no error yet: \(logging.body)")
        #expect(try await Self.curl(["-b", jar, "\(base)/maintenance/diagnose"]).body.contains("No bundle has been collected"))
        #expect(try await Self.curl(["-b", jar, "\(base)/maintenance/diagnostic-logging/download"]).status == 404)
        #expect(try await Self.curl(["-b", jar, "-d", "mode=On", "\(base)/maintenance/mode"]).status == 403, "no CSRF token")
        let page = try await Self.curl(["-b", jar, "\(base)/maintenance/mode"]).body
        let csrf = try #require(page.range(of: #"name="csrf" value="[0-9a-f]+""#, options: .regularExpression).map {
            String(page[$0].dropFirst(#"name="csrf" value=""#.count).dropLast())
        })
        let switched = try await Self.curl(["-b", jar, "-d", "csrf=\(csrf)&mode=On", "\(base)/maintenance/mode"])
        #expect(switched.body.contains("Maintenance mode is now On.") && node.settings!.isOn(SettingPath.maintenanceMode))

        // Another admin changes settings after this page was shown: the stale form undoes neither,
        // and the field both changed is refused, naming the other value; this admin's own change is saved.
        _ = try node.settings!.set(SettingPath.stunKeepAliveEnabled, to: "Off")
        _ = try node.settings!.set(SettingPath.outboundFlowTimer, to: "200")
        let stale = try await Self.curl(["-b", jar, "-d", "csrf=\(csrf)&StunKeepAliveForRegisteredPathEnabled=On&shown-StunKeepAliveForRegisteredPathEnabled=On"
                                         + "&OutboundFlowTimer=150&shown-OutboundFlowTimer=120&SipPathHeaders=On&shown-SipPathHeaders=Off",
                                         "\(base)/configuration/advanced"])
        #expect(stale.status == 400 && stale.body.contains("OutboundFlowTimer changed to 200 since the page was shown"), "\(stale.body)")
        #expect(!node.settings!.isOn(SettingPath.stunKeepAliveEnabled), "the other admin's Off kept")
        #expect(try node.settings!.value(SettingPath.outboundFlowTimer).integer == 200)
        #expect(node.settings!.isOn(SettingPath.sipPathHeaders), "this admin's own change saved")
        try node.accounts!.save(name: "ops", passwordHash: try await AdminPasswords.hash("a new password here"), replacing: true)
        #expect(try await Self.curl(["-b", jar, "\(base)/status/overview"]).headers["location"] == "/login\n", "a new password ends the session")
        await server.stop()
    }
}
