import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Settings
import SIPTransport

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

    /// Starts serving `node` on `host:port` (port 0 picks a free one). A wrong token counts as an
    /// `AdminLogin` failure in the node's intrusion protection; a blocked source gets 403.
    public static func start(node: any AdministeredNode, host: String, port: Int, token: String) async throws -> AdminServer {
        let router = Router(context: AdminRequestContext.self)
        router.middlewares.add(BearerTokenMiddleware(token: token, peerToken: node.peerToken, intrusion: node.intrusion,
                                                     open: ["/health/live", "/health/ready"] + (node.metricsOpen ? ["/metrics"] : [])))
        router.get("/health/live") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "live\n")))
        }
        router.get("/health/ready") { _, _ -> Response in
            guard let reason = await node.notReady() else {
                return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
            }
            return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "not ready: \(reason)\n")))
        }
        router.get("/metrics") { _, _ -> Response in
            guard let text = await node.metrics() else { return failure("\(node.identity) keeps no metrics") }
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        router.post("/api/xconfiguration") { request, _ -> Response in
            let text = try await body(request)
            do {
                guard let settings = node.settings else {
                    return failure("xconfiguration: \(node.identity) has no settings; ask one of its nodes")
                }
                return reply(lines: try settings.run(XConfigurationCommand(parsing: text)).map { $0 })
            } catch {
                return failure("\(error)")
            }
        }
        router.post("/api/xstatus") { request, _ -> Response in
            let query = try await body(request)
            var words = query.split(whereSeparator: \.isWhitespace).map { $0.lowercased() }
            // `Registrations User: AOR` lists one user's registrations.
            var user: String?
            if words.count == 3, words[0] == "registrations", words[1] == "user:" {
                user = String(query.split(whereSeparator: \.isWhitespace)[2])
                words = ["registrations"]
            }
            let all = await node.statusLines(path: words, user: user)
            let lines = all.filter { line in
                let pathWords = line.path.split(separator: " ").map { $0.lowercased() }
                return pathWords.count >= words.count && Array(pathWords.prefix(words.count)) == words
            }
            guard !lines.isEmpty || words.isEmpty else {
                let branches = Set(all.compactMap { $0.path.split(separator: " ").first.map(String.init) }).sorted()
                return failure("xstatus \(query): no such status; allowed: \(branches.joined(separator: ", "))")
            }
            return reply(lines: lines.map { "*s \($0.path): \($0.value)" })
        }
        router.post("/api/xcommand") { request, _ -> Response in
            let command = try await body(request)
            do {
                return reply(lines: try await node.run(command: command))
            } catch {
                return failure("\(error)")
            }
        }
        router.get("/api/diagnostics/bundle") { _, _ -> Response in
            guard let bundle = node.bundle, let data = FileManager.default.contents(atPath: bundle.path) else {
                return failure("no bundle of the last diagnostic log has been collected on \(node.identity): run xcommand DiagnosticLogging Collect")
            }
            return Response(status: .ok, headers: [.contentType: "application/gzip",
                                                   .contentDisposition: "attachment; filename=\"\(bundle.lastPathComponent)\""],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.post("/api/cluster") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1024 * 1024)
            do {
                let answer = try await node.peerRequest(Data(buffer.readableBytesView))
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: answer)))
            } catch {
                return failure("\(error)")
            }
        }
        let bound = BoundPort()
        // The node reports its own start and stop; the server's messages only when they matter.
        var logger = Logger(label: "edgeway.admin")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "Edgeway admin"),
                              onServerRunning: { channel in bound.set(channel.localAddress?.port ?? 0) }, logger: logger)
        let task = Task {
            do {
                try await app.run()
            } catch {
                bound.set(-1)
            }
        }
        let actual = await bound.wait()
        guard actual > 0 else { throw AdminServerError(detail: "cannot listen on \(host):\(port) for the admin API") }
        return AdminServer(port: actual, task: task)
    }

    /// Stops serving.
    public func stop() async {
        task.cancel()
        await task.value
    }

    private static func body(_ request: Request) async throws -> String {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        return String(buffer: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func reply(lines: [String]) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: (lines + ["** end"]).joined(separator: "\n") + "\n")))
    }

    private static func failure(_ text: String) -> Response {
        Response(status: .badRequest, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}

/// The request context of the admin API: Hummingbird's, with the client's address.
struct AdminRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Refuses requests without `Authorization: Bearer TOKEN`, and every request from a source that
/// intrusion protection blocks; counts each wrong token against its source (SPEC B28).
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let token: String
    /// Also taken on `/api/cluster`.
    let peerToken: String?
    let intrusion: IntrusionProtection?
    /// Paths answered without a token (health, and metrics when configured open).
    let open: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let source = context.remoteAddress?.ipAddress ?? "?"
        if let intrusion, intrusion.isBlocked(source) {
            return Response(status: .forbidden,
                            body: .init(byteBuffer: ByteBuffer(string: "\(source) is blocked by intrusion protection (AdminLogin)\n")))
        }
        if open.contains(request.uri.path) { return try await next(request, context) }
        let given = request.headers[.authorization] ?? ""
        let accepted = [token] + (request.uri.path == "/api/cluster" ? [peerToken].compactMap { $0 } : [])
        guard accepted.contains(where: { Self.equal(given, "Bearer \($0)") }) else {
            intrusion?.record(.adminLogin, from: source)
            let problem = given.isEmpty ? "the admin API needs Authorization: Bearer <token>"
                : "wrong admin token (the node's is in its data folder, admin-token)"
            return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                            body: .init(byteBuffer: ByteBuffer(string: problem + "\n")))
        }
        return try await next(request, context)
    }

    /// Compared in time that does not depend on where the texts differ.
    private static func equal(_ given: String, _ expected: String) -> Bool {
        given.utf8.count == expected.utf8.count && zip(given.utf8, expected.utf8).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
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
