import AdminWeb
import Foundation
import Logging
import NIOCore
import NIOSSL
import Settings
import SIPTransport

/// What every edge and core opens from its configuration: the data folder, the settings in
/// SQLite, the TLS material and the admin API.
public struct NodeResources {
    let data: URL
    let settings: Settings
    let certificates: Certificates
    /// The web UI's admin accounts, `DATA/admins.sqlite`.
    let accounts: AdminAccountStore

    /// The TLS material of a node: a lab CA and certificate, or PEM files from the configuration.
    struct Certificates {
        let chainPEM: String
        let keyPEM: String
        let caPEM: String

        /// Serves phones (no client certificate asked).
        func serverContext() throws -> NIOSSLContext {
            try SIPTLS.serverContext(certificateChainPEM: chainPEM, privateKeyPEM: keyPEM)
        }

        /// Serves a traversal port: a client certificate signed by the CA is required.
        func traversalServerContext() throws -> NIOSSLContext {
            try SIPTLS.serverContext(certificateChainPEM: chainPEM, privateKeyPEM: keyPEM, clientCAPEM: caPEM)
        }

        /// Connects to peers: trusts the CA and presents the node's certificate.
        func clientContext() throws -> NIOSSLContext {
            try SIPTLS.clientContext(trustedCAPEM: caPEM, certificateChainPEM: chainPEM, privateKeyPEM: keyPEM)
        }
    }

    init(_ configuration: NodeConfiguration, role: SettingsCatalog = .standard) throws {
        data = URL(fileURLWithPath: configuration.data)
        // Owner only: the folder holds keys, tokens and account hashes (SPEC B28).
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        settings = try Self.settings(configuration, role: role)
        accounts = try Self.accounts(configuration)
        let own = try Self.certificate(configuration)
        guard let ca = own.caPEM else {
            throw NodeConfigurationError(path: "tls", key: "tls.ca", problem: "an edge or core needs the CA that signs its peers")
        }
        certificates = Certificates(chainPEM: own.chainPEM, keyPEM: own.keyPEM, caPEM: ca)
    }

    /// A node's own certificate chain and key (PEM): the `tls:` files with their `ca:` if given,
    /// else the lab certificate and CA in `certificates` (default `DATA/tls`), made at first use.
    static func certificate(_ configuration: NodeConfiguration) throws -> (chainPEM: String, keyPEM: String, caPEM: String?) {
        if let certificate = configuration.tlsCertificate, let key = configuration.tlsKey {
            return (try String(contentsOfFile: certificate, encoding: .utf8), try String(contentsOfFile: key, encoding: .utf8),
                    try configuration.tlsCA.map { try String(contentsOfFile: $0, encoding: .utf8) })
        }
        let folder = configuration.certificates.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: configuration.data).appendingPathComponent("tls")
        let lab = try LabCertificates.loadOrCreate(in: folder)
        return (lab.serverCertificatePEM, lab.serverKeyPEM, lab.caPEM)
    }

    /// The settings of a node in `DATA/settings.sqlite`: its role's (`nil`: none) and the logging levels.
    static func settings(_ configuration: NodeConfiguration, role: SettingsCatalog?) throws -> Settings {
        try Settings(catalog: NodeDiagnostics.catalog(configuration, role: role),
                     store: SQLiteSettingsStore(path: URL(fileURLWithPath: configuration.data).appendingPathComponent("settings.sqlite").path))
    }

    /// The web UI's admin accounts of a node, `DATA/admins.sqlite` (`edgeway admins`).
    public static func accounts(_ configuration: NodeConfiguration) throws -> AdminAccountStore {
        try AdminAccountStore(path: URL(fileURLWithPath: configuration.data).appendingPathComponent("admins.sqlite").path)
    }

    /// A node's admin listeners: the API for the CLI and peers, and the web UI (`nil`: `web: off`).
    public struct AdminListeners: Sendable {
        let api: AdminServer
        let web: AdminServer?
        /// `https://HOST:PORT` (or `http://` on loopback when asked for), also in `DATA/web.url`.
        public let webURL: String?

        /// Stops both.
        public func stop() async {
            await web?.stop()
            await api.stop()
        }
    }

    /// Starts the admin API of any role and its web UI, writes their URLs and the token to the
    /// data folder for the CLI, and tells the node's diagnostics where it runs (peers hear of it).
    static func startAdmin(_ node: RoleAdministration, configuration: NodeConfiguration,
                           listening: [String: SocketAddress]) async throws -> AdminListeners {
        let data = URL(fileURLWithPath: configuration.data)
        let tokenFile = data.appendingPathComponent("admin-token")
        let token: String
        if let configured = configuration.adminToken {
            token = configured
        } else if let saved = try? String(contentsOf: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !saved.isEmpty {
            token = saved
        } else {
            token = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            try PrivateFile.write(token, to: tokenFile)
        }
        guard let (host, port) = NodeConfiguration.splitHostPort(configuration.admin) else {
            throw NodeConfigurationError(path: "configuration", key: "admin", problem: "expected host:port")
        }
        let server = try await AdminServer.start(node: node, host: host, port: port, token: token)
        let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(server.port)"
        try url.write(to: data.appendingPathComponent("admin.url"), atomically: true, encoding: .utf8)
        let web: AdminServer?
        let webURL: String?
        do {
            (web, webURL) = try await startWeb(node, configuration: configuration, token: token)
        } catch {
            await server.stop()
            throw error
        }
        node.diagnostics.started(node, adminURL: url, listening: listening)
        return AdminListeners(api: server, web: web, webURL: webURL)
    }

    /// Starts the web UI (SPEC B23) where `web.address` says, HTTPS with the node's certificate
    /// (the configured `tls:` files, else the lab certificate), and writes its URL to `DATA/web.url`.
    private static func startWeb(_ node: RoleAdministration, configuration: NodeConfiguration,
                                 token: String) async throws -> (AdminServer?, String?) {
        let file = URL(fileURLWithPath: configuration.data).appendingPathComponent("web.url")
        guard let address = configuration.web.address, let (host, port) = NodeConfiguration.splitHostPort(address) else {
            try? FileManager.default.removeItem(at: file)
            return (nil, nil)
        }
        var options = WebOptions(host: host, port: port, certificateChainPEM: nil, privateKeyPEM: nil, idleTimeout: configuration.web.idleTimeout)
        if !configuration.web.plainHTTP {
            let own = try certificate(configuration)
            (options.certificateChainPEM, options.privateKeyPEM) = (own.chainPEM, own.keyPEM)
        }
        let server: AdminServer
        do {
            server = try await AdminServer.startWeb(node: node, web: options, token: token)
        } catch let error as AdminServerError {
            // The certificate is parsed before anything listens: a PEM problem is the tls: files'.
            throw NodeConfigurationError(path: "configuration", key: error.detail.contains("certificate") ? "tls" : "web.address", problem: error.detail)
        }
        let url = "\(configuration.web.plainHTTP ? "http" : "https")://\(host.contains(":") ? "[\(host)]" : host):\(server.port)"
        try url.write(to: file, atomically: true, encoding: .utf8)
        return (server, url)
    }

    /// A `host:port` text as a socket address, or an error naming the key.
    static func address(_ text: String, key: String) throws -> SocketAddress {
        guard let (host, port) = NodeConfiguration.splitHostPort(text),
              let address = try? SocketAddress.makeAddressResolvingHost(host, port: port)
        else { throw NodeConfigurationError(path: "configuration", key: key, problem: "cannot resolve \(text)") }
        return address
    }
}
