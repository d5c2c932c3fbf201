import Foundation
import NIOCore
import NIOPosix
import Phone
import SIPTransport
import Testing
import TestSupport

/// The SDK registers through Kamailio (Debian `kamailio` with its TLS and outbound modules,
/// installed by `.ci/run`) as an RFC 5626 outbound registrar: no AR_SK there, so it keeps its flow
/// with CRLF pings at the Flow-Timer pace, and Kamailio answers them.
@Suite("The phone through Kamailio", .serialized)
struct KamailioOutboundTests {
    static let modules = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
    static let available = FileManager.default.isExecutableFile(atPath: "/usr/sbin/kamailio")
        && FileManager.default.fileExists(atPath: modules + "tls.so") && FileManager.default.fileExists(atPath: modules + "outbound.so")
    static let required = ProcessInfo.processInfo.environment["EDGEWAY_REQUIRE_INTEROP"] == "1"

    @Test(.enabled(if: available || required, "Kamailio with TLS and outbound is not installed (apt-get install kamailio kamailio-tls-modules kamailio-outbound-modules)"))
    func thePhoneRegistersThroughKamailioWithCRLFKeepalives() async throws {
        #expect(Self.available, "Kamailio with its TLS and outbound modules is required here (EDGEWAY_REQUIRE_INTEROP=1)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-kamailio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("db"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let certificates = try LabCertificates.loadOrCreate(in: folder.appendingPathComponent("tls"))
        try "table_name(str) table_version(int)\nsubscriber:7\n".write(to: folder.appendingPathComponent("db/version"), atomically: true, encoding: .utf8)
        try "id(int,auto) username(str) domain(str) password(str) ha1(str,null) ha1b(str,null)\n1:alice:example.com:alice-secret::\n"
            .write(to: folder.appendingPathComponent("db/subscriber"), atomically: true, encoding: .utf8)
        let tls = folder.appendingPathComponent("tls")
        try """
            [server:default]
            method = TLSv1.2+
            verify_certificate = no
            require_certificate = no
            private_key = \(tls.appendingPathComponent("server-key.pem").path)
            certificate = \(tls.appendingPathComponent("server.pem").path)

            """.write(to: folder.appendingPathComponent("tls.cfg"), atomically: true, encoding: .utf8)
        let port = Int.random(in: 200...270) * 100 + 71
        let template = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Kamailio/outbound.cfg"), encoding: .utf8)
        let config = template.replacingOccurrences(of: "@PORT@", with: String(port))
            .replacingOccurrences(of: "@DB@", with: folder.appendingPathComponent("db").path)
            .replacingOccurrences(of: "@TLSCFG@", with: folder.appendingPathComponent("tls.cfg").path)
        try config.write(to: folder.appendingPathComponent("kamailio.cfg"), atomically: true, encoding: .utf8)
        let kamailio = Process()
        kamailio.executableURL = URL(fileURLWithPath: "/bin/sh")
        kamailio.arguments = EdgewayProcess.holdingDescriptors("/usr/sbin/kamailio", [
            "-f", folder.appendingPathComponent("kamailio.cfg").path, "-DD", "-E", "-m", "64", "-P", folder.appendingPathComponent("kamailio.pid").path,
        ])
        kamailio.standardOutput = FileHandle.nullDevice
        kamailio.standardError = FileHandle.nullDevice
        try kamailio.run()
        // Kamailio and its workers end only by SIGKILL here: everything run from this folder, however the test ends.
        let stop = { _ = try? await EdgewayProcess.run(executable: "/usr/bin/pkill", ["-KILL", "-f", folder.path]) }
        var phone: SoftPhone?
        do {
            let edge = "127.0.0.1:\(port)"
            var events: [SoftPhone.Event] = []
            let seen = LockedBox<[SoftPhone.Event]>([])
            try await eventually("Kamailio listens and the phone registers", seconds: 20) {
                if phone == nil {
                    let created = try SoftPhone(configuration: .init(user: "alice", password: "alice-secret", domain: "example.com", edges: [edge],
                                                                     trustedCAPEM: certificates.caPEM),
                                                group: MultiThreadedEventLoopGroup.singleton)
                    Task { for await event in created.events { seen.mutate { $0.append(event) } } }
                    created.start()
                    phone = created
                }
                events = seen.read { $0 }
                return events.contains { if case .registration(.registered) = $0 { true } else { false } }
            }
            #expect(events.contains(.registration(.registered(edge: edge, arsk: false, keepalive: .crlf(interval: 8_000)))),
                    "Require: outbound with Flow-Timer 10 → CRLF every 8 s")
            try await eventually("Kamailio answered a CRLF ping", seconds: 20) { seen.read { $0.contains(.pong) } }
        } catch {
            await phone?.stop()
            await stop()
            throw error
        }
        await phone?.stop()
        await stop()
    }
}
