import EdgewayNode
import Foundation
import SIPTransport
import Testing
import TestSupport

/// The node's YAML: the documented files parse and state the defaults; mistakes name the key.
@Suite("Node configuration")
struct NodeConfigurationTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs")

    /// Issue 19, point 9: relative paths in a file follow the file's folder, not the current one.
    @Test func relativePathsFollowTheFilesFolder() throws {
        let folder = try temporaryFolder("edgeway-config")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("nodes/edge.yaml")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try "data: ./edge-data\ncertificates: lab-tls\ntls: {certificate: /etc/edge.pem, key: ../keys/edge.key, ca: ca.pem}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let configuration = try NodeConfiguration(contentsOf: file.path)
        let nodes = file.deletingLastPathComponent().standardizedFileURL.path
        #expect(configuration.data == "\(nodes)/edge-data")
        #expect(configuration.certificates == "\(nodes)/lab-tls")
        #expect(configuration.tlsCertificate == "/etc/edge.pem", "an absolute path stays")
        #expect(configuration.tlsKey == "\(folder.standardizedFileURL.path)/keys/edge.key")
        #expect(configuration.tlsCA == "\(nodes)/ca.pem")
    }

    @Test func theDocumentedFilesParseAndStateTheDefaultLimits() throws {
        for name in ["edge.yaml", "core.yaml", "registrar.yaml"] {
            _ = try NodeConfiguration(contentsOf: Self.docs.appendingPathComponent(name).path)
        }
        let edge = try NodeConfiguration(contentsOf: Self.docs.appendingPathComponent("edge.yaml").path)
        let defaults = NodeConfiguration()
        #expect(edge.intrusionPolicy(facesPhones: true) == NodeConfiguration.defaultIntrusionProtection)
        #expect(defaults.intrusionProtection == nil, "without the key, the role's default")
        #expect(defaults.intrusionPolicy(facesPhones: false) == NodeConfiguration.internalIntrusionProtection)
        #expect(edge.maxConnections == defaults.maxConnections)
        #expect(edge.reservedConnections == defaults.reservedConnections)
        #expect(edge.maxConnectionsPerSource == defaults.maxConnectionsPerSource)
        #expect(edge.tlsHandshakeTimeout == defaults.tlsHandshakeTimeout)
        #expect(edge.firstMessageTimeout == defaults.firstMessageTimeout)
        #expect(edge.messageTimeout == defaults.messageTimeout)
    }

    @Test func intrusionProtectionKeysChangeOnlyWhatTheyNameFromTheRolesDefault() throws {
        let configuration = try NodeConfiguration(yaml: """
            intrusionProtection:
              exemptions: [10.0.0.0/8, 192.0.2.10]
              SIPRequestRate: {triggerLevel: 600}
              AdminLogin: off
            """)
        let edge = configuration.intrusionPolicy(facesPhones: true)
        #expect(edge.enabled)
        #expect(edge.exemptions.map(\.description) == ["10.0.0.0/8", "192.0.2.10/32"])
        #expect(edge.rules[.sipRequestRate] == IntrusionRule(triggerLevel: 600, detectionWindow: .seconds(10), blockDuration: .seconds(120)))
        #expect(edge.rules[.adminLogin] == nil)
        #expect(edge.rules[.sipMalformed] == IntrusionPolicy.defaultRules[.sipMalformed])
        let core = configuration.intrusionPolicy(facesPhones: false)
        #expect(Set(core.rules.keys) == [.sipRequestRate], "a core counts only what its section turns on")
        let exemptionsOnly = try NodeConfiguration(yaml: "intrusionProtection: {exemptions: [10.0.0.0/8]}")
        #expect(exemptionsOnly.intrusionPolicy(facesPhones: false).rules.keys.sorted { $0.rawValue < $1.rawValue } == [.adminLogin],
                "exemptions alone do not turn SIP counting on at a core")
    }

    @Test func mistakesNameTheKeyAndWhatIsAllowed() {
        func problem(_ yaml: String) -> String {
            do {
                _ = try NodeConfiguration(yaml: yaml)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(problem("intrusionProtection: {SIPFlood: off}").contains(
            "intrusionProtection.SIPFlood: unknown key; allowed: enabled, exemptions, SIPAuthentication, SIPMalformed, SIPRequestRate, AdminLogin"))
        #expect(problem("intrusionProtection: {exemptions: [10.0.0.0/8, 10.0.0.0/33]}").contains(
            "intrusionProtection.exemptions: 10.0.0.0/33 is not an IP address or ADDRESS/LENGTH prefix"), "names the entry")
        #expect(problem("intrusionProtection: {exemptions: 10.0.0.0/8}").contains("intrusionProtection.exemptions: expected a list"))
        #expect(problem("intrusionProtection: {SIPMalformed: {triggerLevel: 0}}").contains("intrusionProtection.SIPMalformed.triggerLevel: expected a whole number, at least 1"))
        #expect(problem("maxConnections: 10\nreservedConnections: 10").contains("reservedConnections: must be less than maxConnections (10)"))
        #expect(problem("messageTimeout: 5").contains("messageTimeout: expected milliseconds"))
        #expect(problem("web: {address: 0.0.0.0:8443, plainHTTP: true}").contains(
            "web.plainHTTP: plain HTTP is allowed only on a loopback address (127.0.0.0/8, ::1, localhost), not 0.0.0.0"))
        #expect(problem("web: {address: 127.0.0.1:8443, plainHTTP: true}") == "accepted")
        #expect(problem("web: {idleTimeout: 10s}").contains("web.idleTimeout: expected a duration of 1m…24h"))
        #expect(problem("web: {port: 1}").contains("web.port: unknown key; allowed: address, plainHTTP, idleTimeout"))
        #expect((try? NodeConfiguration(yaml: "web: off"))?.web.address == nil)
    }
}
