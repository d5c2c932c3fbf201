import Foundation
import Hummingbird
import NIOCore
import SIPTransport

/// The request context of the admin and web listeners: Hummingbird's, with the client's address,
/// the web session (if any) and a web form's fields.
struct AdminRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    /// The logged-in admin, set by ``AdminAccessMiddleware`` on web pages.
    var session: WebSessions.Session?
    /// The fields of a web form (`application/x-www-form-urlencoded`), set on web POSTs.
    var form: [String: String] = [:]

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client's IP address.
    var source: String { remoteAddress?.ipAddress ?? "?" }
}

/// Who may do what (SPEC B22, B23, B28): every request from a source intrusion protection blocks
/// gets 403; the health checks (and `/metrics` when the node says so) are open; `/api/…` and
/// `/metrics` need `Authorization: Bearer TOKEN` (`/api/cluster` also takes the peer token), a
/// wrong token counted as an `AdminLogin` failure; with `sessions` (the web listener) every other
/// path but `/`, `/login` (and `/favicon.ico`, a 404) is a web page: without a live session a GET is sent to `/login` and
/// anything else gets 401, and a POST whose `csrf` field is not the session's gets 403.
struct AdminAccessMiddleware: RouterMiddleware {
    typealias Context = AdminRequestContext
    let token: String
    let node: any AdministeredNode
    let sessions: WebSessions?
    /// The web UI's session cookie name.
    let cookie: String

    /// The largest web form read.
    static let formLimit = 64 * 1024

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let source = context.source
        if let intrusion = node.intrusion, intrusion.isBlocked(source) {
            return WebUI.text("\(source) is blocked by intrusion protection (AdminLogin)\n", status: .forbidden)
        }
        let path = request.uri.path
        if path == "/health/live" || path == "/health/ready" || (path == "/metrics" && node.metricsOpen) {
            return try await next(request, context)
        }
        guard let sessions, !path.hasPrefix("/api/"), path != "/metrics" else {
            return try await bearer(request, context: context, next: next)
        }
        var request = request
        var context = context
        if request.method == .post {
            let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            guard type == "application/x-www-form-urlencoded" else {
                return WebUI.text("a web form is application/x-www-form-urlencoded, not \(type ?? "without a Content-Type")\n",
                                  status: .unsupportedMediaType)
            }
            let body = try await request.collectBody(upTo: Self.formLimit)
            guard let form = Self.form(String(buffer: body)) else {
                return WebUI.text("the form's fields are not percent-encoded as application/x-www-form-urlencoded asks\n", status: .badRequest)
            }
            context.form = form
        }
        if path == "/" || path == "/login" || path == "/favicon.ico" { return try await next(request, context) }
        guard let session = sessions.session(request.cookies[cookie]?.value) else {
            return request.method == .get ? WebUI.redirect("/login") : WebUI.text("log in first: POST /login\n", status: .unauthorized)
        }
        // An account removed or given a new password since the login ends its sessions.
        guard let accounts = node.accounts, try await AdminPasswords.hash(of: session.name, in: accounts) == session.passwordHash else {
            sessions.end(session.id)
            node.logEvent("web session ended: the account was removed or its password changed", metadata: ["user": session.name, "source": source])
            return request.method == .get ? WebUI.redirect("/login") : WebUI.text("log in again: the account changed\n", status: .unauthorized)
        }
        context.session = session
        if request.method == .post, !Self.equal(context.form["csrf"] ?? "", session.csrf) {
            node.logEvent("web form refused: missing or wrong CSRF token", metadata: ["user": session.name, "path": path, "source": source])
            return WebUI.text("the form's CSRF token is missing or wrong: reload the page and try again\n", status: .forbidden)
        }
        return try await next(request, context)
    }

    private func bearer(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let given = request.headers[.authorization] ?? ""
        let accepted = [token] + (request.uri.path == "/api/cluster" ? [node.peerToken].compactMap { $0 } : [])
        guard accepted.contains(where: { Self.equal(given, "Bearer \($0)") }) else {
            node.intrusion?.record(.adminLogin, from: context.source)
            let problem = given.isEmpty ? "the admin API needs Authorization: Bearer <token>"
                : "wrong admin token (the node's is in its data folder, admin-token)"
            return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                            body: .init(byteBuffer: ByteBuffer(string: problem + "\n")))
        }
        return try await next(request, context)
    }

    /// The fields of `application/x-www-form-urlencoded` text (WHATWG URL §5.1: `&`-separated
    /// `name=value`, `+` a space, `%XX` a byte), the first of a repeated name; `nil` when a part
    /// is not valid percent-encoded UTF-8.
    static func form(_ text: String) -> [String: String]? {
        var fields: [String: String] = [:]
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let pair = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(pair[0]), let value = pair.count > 1 ? decode(pair[1]) : "" else { return nil }
            if fields[name] == nil { fields[name] = value }
        }
        return fields
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// Compared in time that does not depend on where the texts differ.
    static func equal(_ given: String, _ expected: String) -> Bool {
        given.utf8.count == expected.utf8.count && zip(given.utf8, expected.utf8).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
    }
}
