import Foundation
import Location
import LocationSQLite
import Registrar
import SIPTransport
import Testing
import TestSupport

/// SIPp (Debian's `sip-tester`) registers 2,000 times with digest against the registrar process,
/// over UDP and over TCP (one connection); every registration must succeed. `.ci/run` installs
/// SIPp and sets `EDGEWAY_REQUIRE_INTEROP=1`, which turns a missing SIPp into a failure.
@Suite("SIPp against the registrar", .serialized)
struct SIPpRegistrationTests {
    static let sipp = ["/usr/bin/sipp", "/usr/local/bin/sipp"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let required = ProcessInfo.processInfo.environment["EDGEWAY_REQUIRE_INTEROP"] == "1"

    @Test(.enabled(if: sipp != nil || required, "SIPp is not installed (apt-get install sip-tester)"))
    func twoThousandDigestRegistrationsOverUDPAndTCP() async throws {
        let sipp = try #require(Self.sipp, "SIPp is required here (EDGEWAY_REQUIRE_INTEROP=1)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-sipp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("data"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let accounts = try SQLiteAccountStore(path: folder.appendingPathComponent("data/accounts.sqlite").path)
        var injection = ["SEQUENTIAL"]
        for index in 0..<100 {
            let user = String(format: "user%04d", index), password = String(format: "pw%04d", index)
            try await accounts.save(DigestAuthenticator.account(username: user, realm: "example.com", password: password))
            injection.append("\(user);[authentication username=\(user) password=\(password)]")
        }
        let users = folder.appendingPathComponent("users.csv")
        try (injection.joined(separator: "\n") + "\n").write(to: users, atomically: true, encoding: .utf8)
        let config = folder.appendingPathComponent("registrar.yaml")
        // SIPp answers only MD5 challenges and takes the first one it gets.
        try """
            domain: example.com
            data: \(folder.appendingPathComponent("data").path)
            digestAlgorithms: [MD5, SHA-256]
            listen:
              udp: 127.0.0.1:0
              tcp: 127.0.0.1:0
            """.write(to: config, atomically: true, encoding: .utf8)
        let registrar = try EdgewayProcess(["serve", "--role", "registrar", "--config", config.path])
        let addresses = try await registrar.readyAddresses()
        let scenario = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("SIPp/register-digest.xml")
        for (transport, flag) in [(SIPTransportKind.udp, "u1"), (.tcp, "t1")] {
            let port = try #require(addresses[transport]?.port)
            let (status, output) = try await EdgewayProcess.run(
                executable: sipp,
                ["-sf", scenario.path, "-inf", users.path, "-m", "2000", "-r", "2000", "-l", "300",
                 "-t", flag, "-i", "127.0.0.1", "-p", "0", "127.0.0.1:\(port)", "-nostdin", "-timeout", "120s", "-timeout_error"],
                directory: folder)
            let successful = output.split(separator: "\n").last { $0.contains("Successful call") }
            #expect(status == 0, "SIPp over \(transport) exited \(status)")
            #expect(successful?.contains("2000") == true, "SIPp over \(transport): \(successful ?? "no summary")")
        }
        try await registrar.stop()
    }
}
