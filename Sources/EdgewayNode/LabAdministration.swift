import AdminWeb
import Foundation
import NIOConcurrencyHelpers
import Settings
import SIPTransport

/// The lab as the admin API sees it (`edgeway lab fail|heal` from another terminal): faults are
/// commands, the nodes' state is its status.
struct LabAdministration: AdministeredNode {
    let lab: LabDeployment
    let identity = "lab"
    let settings: Settings? = nil
    let commands = ["Fail NODE kill|blackhole|pause", "Heal NODE"]
    let intrusion: IntrusionProtection? = nil

    /// The entry page's links: each running node's web UI.
    var webLinks: [(name: String, url: String)] {
        let running = lab.nodes.withLockedValue { $0 }
        return lab.nodeNames.compactMap { name in running[name]?.webURL.map { (name, $0) } }
    }

    func statusLines(path: [String], user: String?) -> [(path: String, value: String)] {
        lab.faults.map { ("Nodes \($0.node) State", $0.state) }
    }

    func run(command: String) async throws -> [String] {
        let words = command.split(whereSeparator: \.isWhitespace).map { String($0).lowercased() }
        switch (words.first, words.count) {
        case ("fail", 2), ("fail", 3):
            let mode = words.count == 3 ? words[2] : "kill"
            guard let fault = LabDeployment.FaultMode(rawValue: mode == "pause" ? "blackhole" : mode) else {
                throw UnknownCommandError(command: command, known: commands)
            }
            try await lab.fail(words[1], mode: fault)
            return ["*r LabFailResult (status=OK): \(words[1]) \(mode)"]
        case ("heal", 2):
            try await lab.heal(words[1])
            return ["*r LabHealResult (status=OK): \(words[1])"]
        default:
            throw UnknownCommandError(command: command, known: commands)
        }
    }
}

extension LabDeployment {
    /// Each node and whether it runs, is black-holed or is stopped.
    public var faults: [(node: String, state: String)] {
        let running = nodes.withLockedValue { Set($0.keys) }
        let blackholed = relays.map(\.isBlackholed)
        return nodeNames.map { name in
            let edge = ["edge-1", "edge-2"].firstIndex(of: name)
            let state = !running.contains(name) ? "Killed" : edge.map { blackholed[$0] } == true ? "Blackholed" : "Running"
            return (name, state)
        }
    }

    /// Starts the lab's admin API and its entry page (HTTPS with the lab certificate, linking each
    /// node's web UI), and writes the API's URL and token to `data/lab-admin.url` and `data/lab-admin-token`.
    public func startAdmin() async throws -> NodeResources.AdminListeners {
        let data = URL(fileURLWithPath: options.data)
        let tokenFile = data.appendingPathComponent("lab-admin-token")
        let token = (try? String(contentsOf: tokenFile, encoding: .utf8))
            ?? (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try PrivateFile.write(token, to: tokenFile)
        let administration = LabAdministration(lab: self)
        let server = try await AdminServer.start(node: administration, host: "127.0.0.1", port: 0, token: token)
        try "http://127.0.0.1:\(server.port)".write(to: data.appendingPathComponent("lab-admin.url"), atomically: true, encoding: .utf8)
        let certificate = try LabCertificates.loadOrCreate(in: data.appendingPathComponent("tls"))
        let web: AdminServer
        do {
            web = try await AdminServer.startWeb(node: administration, web: WebOptions(
                host: "127.0.0.1", port: 0, certificateChainPEM: certificate.serverCertificatePEM, privateKeyPEM: certificate.serverKeyPEM,
                idleTimeout: .seconds(15 * 60)), token: token)
        } catch {
            await server.stop()
            throw error
        }
        return NodeResources.AdminListeners(api: server, web: web, webURL: "https://127.0.0.1:\(web.port)")
    }
}
