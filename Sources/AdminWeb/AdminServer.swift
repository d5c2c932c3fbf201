import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Settings
import NIOSSL
import SIPTransport
import HummingbirdTLS

/// The admin API of a node (SPEC B22), HTTP on loopback by default, every call but the health
/// checks (and `/metrics` when the node says so) authorised by a bearer token. Each endpoint takes the command text as the request body and answers in the
/// original's output form, ending with `** end`; an error is a 400 whose text names the path and
/// the allowed values.
///
/// - `POST /api/xconfiguration` — `PATH` (read) or `PATH: VALUE` (set)
/// - `POST /api/xstatus` — `PATH` (may be empty: everything), or `Registrations User: AOR`
/// - `POST /api/xcommand` — `NAME ARGS`
/// - `GET /api/diagnostics/bundle` — the last diagnostic-log bundle collected here (`.tar.gz`)
/// - `GET /metrics` — Prometheus text format (SPEC B29); the token unless the node says it is open
/// - `GET /health/live` (200 while the process answers) and `GET /health/ready` (200, or 503 with
///   the reason), without the token
/// - `POST /api/cluster` — a peer's diagnostic-log request (JSON), authorised by the node's peer
///   token (told to peers over the traversal link and the core–registrar OPTIONS), or the admin token
public final class AdminServer: Sendable {
    /// The bound address.
    public let port: Int
    private let task: Task<Void, Never>

    private init(port: Int, task: Task<Void, Never>) {
        self.port = port
        self.task = task
    }

    /// Starts the admin API of `node` on `host:port` (port 0 picks a free one), plain HTTP: the
    /// CLI's and peers' way in, on loopback by default. A wrong token counts as an `AdminLogin`
    /// failure in the node's intrusion protection; a blocked source gets 403.
    public static func start(node: any AdministeredNode, host: String, port: Int, token: String) async throws -> AdminServer {
        let router = Router(context: AdminRequestContext.self)
        router.middlewares.add(AdminAccessMiddleware(token: token, node: node, sessions: nil, cookie: ""))
        AdminAPI.register(on: router, node: node)
        return try await run(router, host: host, port: port, tls: nil, what: "the admin API")
    }

    /// Starts the web UI of `node` (SPEC B23) with the admin API, `/metrics` and the health checks
    /// beside it: HTTPS with `web.certificateChainPEM` and `web.privateKeyPEM`, or plain HTTP when
    /// they are `nil` (the caller allows that on loopback only).
    ///
    /// - Throws: ``AdminServerError`` when the address cannot be bound or the PEM texts do not parse.
    public static func startWeb(node: any AdministeredNode, web: WebOptions, token: String) async throws -> AdminServer {
        let sessions = WebSessions(idleTimeout: web.idleTimeout)
        let name = node.identity.split(separator: " ").last.map { String($0.filter { $0.isLetter || $0.isNumber || $0 == "-" }) } ?? "node"
        let cookie = "edgeway-\(name)-\(WebSessions.token().prefix(8))"
        let router = Router(context: AdminRequestContext.self)
        router.middlewares.add(AdminAccessMiddleware(token: token, node: node, sessions: sessions, cookie: cookie))
        AdminAPI.register(on: router, node: node)
        WebUI(node: node, sessions: sessions, cookie: cookie, secure: web.certificateChainPEM != nil).register(on: router)
        var tls: TLSConfiguration?
        if let chain = web.certificateChainPEM, let key = web.privateKeyPEM {
            do {
                var configuration = TLSConfiguration.makeServerConfiguration(
                    certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(chain.utf8)).map { .certificate($0) },
                    privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem)))
                configuration.minimumTLSVersion = .tlsv12
                tls = configuration
            } catch {
                throw AdminServerError(detail: "the web UI's certificate or key does not parse: \(error)")
            }
        }
        return try await run(router, host: web.host, port: web.port, tls: tls, what: "the web UI")
    }

    /// Serves `router` until ``stop()``; returns once the port is bound.
    private static func run(_ router: Router<AdminRequestContext>, host: String, port: Int, tls: TLSConfiguration?,
                            what: String) async throws -> AdminServer {
        let bound = BoundPort()
        // The node reports its own start and stop; the server's messages only when they matter.
        var logger = Logger(label: "edgeway.admin")
        logger.logLevel = .critical
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: "Edgeway admin")
        let onRunning: @Sendable (any Channel) async -> Void = { channel in bound.set(channel.localAddress?.port ?? 0) }
        let app = try tls.map { Application(router: router, server: try .tls(.http1(), tlsConfiguration: $0), configuration: configuration,
                                            onServerRunning: onRunning, logger: logger) }
            ?? Application(router: router, configuration: configuration, onServerRunning: onRunning, logger: logger)
        let task = Task {
            do {
                try await app.run()
            } catch {
                bound.set(-1)
            }
        }
        let actual = await bound.wait()
        guard actual > 0 else { throw AdminServerError(detail: "cannot listen on \(host):\(port) for \(what)") }
        return AdminServer(port: actual, task: task)
    }

    /// Stops serving.
    public func stop() async {
        task.cancel()
        await task.value
    }
}

/// Where and how the web UI listens.
public struct WebOptions: Sendable {
    public var host: String
    public var port: Int
    /// The node's certificate chain and key (PEM) for HTTPS; `nil`: plain HTTP.
    public var certificateChainPEM: String?
    public var privateKeyPEM: String?
    /// A session unused this long ends.
    public var idleTimeout: Duration

    public init(host: String, port: Int, certificateChainPEM: String?, privateKeyPEM: String?, idleTimeout: Duration) {
        self.host = host
        self.port = port
        self.certificateChainPEM = certificateChainPEM
        self.privateKeyPEM = privateKeyPEM
        self.idleTimeout = idleTimeout
    }
}

/// An admin API that could not start.
public struct AdminServerError: Error, CustomStringConvertible {
    /// What failed.
    public var detail: String
    public var description: String { detail }
}

/// The port the server bound, handed from its start-up callback to the caller.
private final class BoundPort: Sendable {
    private let state = NIOLockedValueBox<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    func set(_ port: Int) {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Int, Never>] in
            guard state.port == nil else { return [] }
            state.port = port
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume(returning: port) }
    }

    func wait() async -> Int {
        await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { state -> Int? in
                if let port = state.port { return port }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
