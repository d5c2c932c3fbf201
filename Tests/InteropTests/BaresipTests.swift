import Foundation
import Testing
import TestSupport

/// baresip (Debian `baresip-core`, installed by `.ci/run`) registers through the lab's edge over TLS
/// with RFC 5626 outbound and stays registered for two minutes with its CRLF keepalives answered.
/// baresip 1.0 gives up on any SHA-256 challenge, so this lab offers MD5 only (`--digest MD5`).
@Suite("baresip through the lab", .serialized)
struct BaresipTests {
    static let baresip = ["/usr/bin/baresip", "/usr/local/bin/baresip"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let required = ProcessInfo.processInfo.environment["EDGEWAY_REQUIRE_INTEROP"] == "1"

    @Test(.enabled(if: baresip != nil || required, "baresip is not installed (apt-get install baresip-core)"))
    func baresipStaysRegisteredForTwoMinutesWithItsKeepalivesAnswered() async throws {
        let baresip = try #require(Self.baresip, "baresip is required here (EDGEWAY_REQUIRE_INTEROP=1)")
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-baresip-\(UUID().uuidString)")
        let home = data.appendingPathComponent("baresip")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: data) }
        let base = LabPorts.base()
        let lab = try EdgewayProcess(["lab", "--data", data.appendingPathComponent("lab").path, "--base-port", String(base),
                                      "--keepalive", "1s", "--digest", "MD5"])
        try await eventually("lab ready", seconds: 60) { lab.text.contains("edgeway lab ready") }
        let edge = data.appendingPathComponent("lab/edge-1").path
        #expect(try await EdgewayProcess.run(["xconfiguration", "SIP", "Advanced", "OutboundFlowTimer:", "15", "--data", edge]).status == 0)
        try """
            sip_cafile \(data.appendingPathComponent("lab/tls/ca.pem").path)
            module_tmp uuid.so
            module_path /usr/lib/baresip/modules
            module g711.so
            module_app account.so

            """.write(to: home.appendingPathComponent("config"), atomically: true, encoding: .utf8)
        try "<sip:alice@example.com>;auth_pass=alice-secret;outbound=\"sip:127.0.0.1:\(base + 1);transport=tls\";regint=60;sipnat=outbound\n"
            .write(to: home.appendingPathComponent("accounts"), atomically: true, encoding: .utf8)
        let phone = try EdgewayProcess(executable: baresip, ["-n", "127.0.0.1", "-f", home.path, "-t", "130"])
        try await eventually("baresip registered", seconds: 20) { phone.text.contains("200 OK") }
        try await Task.sleep(for: .seconds(120))
        let status = try await EdgewayProcess.run(["xstatus", "--data", edge]).output
        #expect(status.contains("*s Registrations Count: 1"), "still registered after two minutes: \(status)")
        let pings = status.split(separator: "\n").first { $0.contains("PingsAnswered") }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        #expect(pings >= 2, "its CRLF keepalives were answered (\(pings))")
        #expect(!phone.text.lowercased().contains("failed"), "\(phone.text.suffix(1_000))")
        try? await phone.stop()
        try await lab.stop()
    }
}
