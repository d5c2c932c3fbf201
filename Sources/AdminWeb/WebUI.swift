import Foundation
import Hummingbird
import NIOCore
import Settings

/// The web UI's pages and forms (SPEC B23) on the web listener's router. Each page reads what
/// `xstatus` reads and each form does what `xconfiguration` or `xcommand` does, through the
/// same node calls. Pages need a session (else a redirect to `/login`); forms need the session's
/// CSRF token (else 403). Logins, logouts and changes go to the node's event log.
struct WebUI: Sendable {
    let node: any AdministeredNode
    let sessions: WebSessions
    /// The session cookie's name, unique to this listener's run (browsers share cookies across ports).
    let cookie: String
    /// Whether cookies say `Secure` (HTTPS).
    let secure: Bool

    func register(on router: Router<AdminRequestContext>) {
        router.get("/") { _, _ -> Response in
            let links = node.webLinks
            guard !links.isEmpty else { return Self.redirect("/status/overview") }
            return page("lab", title: "Lab", crumbs: "Edgeway lab", ["links": links.map { ["name": $0.name, "url": $0.url] }], context: nil)
        }
        router.get("/login") { request, _ -> Response in
            // One token per browser while its login cookie lasts: a second load (a tab, the
            // favicon's redirect) does not make the first form stale.
            let kept = request.cookies["\(cookie)_login"]?.value
            let token = kept.map { $0.count == 64 && $0.allSatisfy(\.isHexDigit) } == true ? kept! : WebSessions.token()
            var response = page("login", title: "Log in", crumbs: "", ["loginToken": token], context: nil)
            response.setCookie(cookie(named: "\(cookie)_login", value: token))
            return response
        }
        router.post("/login") { request, context -> Response in try await login(request, context) }
        router.post("/logout") { _, context -> Response in
            guard let session = context.session else { return Self.redirect("/login") }
            sessions.end(session.id)
            node.logEvent("web logout", metadata: ["user": session.name, "source": context.source])
            var response = Self.redirect("/login")
            response.setCookie(cookie(named: cookie, value: "", maxAge: 0))
            return response
        }
        router.get("/status/overview") { _, context -> Response in
            let lines = await node.statusLines(path: ["overview"], user: nil)
            let maintenance = (try? node.settings?.value(SettingPath.maintenanceMode)).map { "\($0)" } ?? "not applicable"
            return page("overview", title: "Overview", crumbs: "Status > Overview", WebPages.overview(lines, maintenance: maintenance), context: context)
        }
        router.get("/status/registrations") { request, context -> Response in
            // A GET form writes a space as `+` (application/x-www-form-urlencoded).
            let search = request.uri.queryParameters.get("user")?.replacingOccurrences(of: "+", with: " ").trimmingCharacters(in: .whitespaces) ?? ""
            // A page boundary; past the end (the list shrank, or a hand-made URL) the node serves the last page.
            let asked = request.uri.queryParameters.get("offset").flatMap { Int($0) } ?? 0
            let listed = await node.registrationLines(user: search.isEmpty ? nil : search, offset: asked, limit: WebPages.pageSize)
            var values = WebPages.registrations(listed.lines, total: listed.total, offset: listed.offset, search: search)
            values["error"] = listed.lines.first { $0.path == "Registrations Error" }?.value
            return page("registrations", title: "Registrations", crumbs: "Status > Unified Communications > Registrations", values, context: context)
        }
        router.get("/status/alarms") { _, context -> Response in
            let rows = WebPages.alarmHistory(await node.statusLines(path: ["alarmhistory"], user: nil))
            return page("alarms", title: "Alarms", crumbs: "Status > Alarms", ["rows": rows], context: context)
        }
        router.post("/status/alarms/acknowledge") { _, context -> Response in
            guard let session = context.session, let number = context.form["number"].flatMap({ Int($0) }) else {
                return message("Alarms", error: "give the alarm's number", status: .badRequest, context: context)
            }
            do {
                _ = try await node.run(command: "Alarms Acknowledge Number: \(number) By: \(session.name)")
            } catch {
                return message("Alarms", error: "\(error)", status: .badRequest, context: context)
            }
            node.logEvent("web: alarm acknowledged", metadata: ["user": session.name, "number": String(number), "source": context.source])
            return Self.redirect("/status/alarms")
        }
        router.get("/configuration/advanced") { _, context -> Response in
            await advanced(context: context, notice: nil, error: nil, status: .ok)
        }
        router.post("/configuration/advanced") { _, context -> Response in try await saveAdvanced(context) }
        router.get("/maintenance/mode") { _, context -> Response in maintenance(context: context, notice: nil) }
        router.post("/maintenance/mode") { _, context -> Response in
            guard let session = context.session, let settings = node.settings, let mode = context.form["mode"], ["On", "Off"].contains(mode) else {
                return message("Maintenance mode", error: "give mode On or Off (and a node with settings)", status: .badRequest, context: context)
            }
            do {
                _ = try settings.run(XConfigurationCommand(parsing: "SystemUnit Maintenance Mode: \(mode)"))
            } catch {
                return message("Maintenance mode", error: "\(error)", status: .badRequest, context: context)
            }
            node.logEvent("web: setting changed", metadata: ["user": session.name, "path": "SystemUnit Maintenance Mode", "value": mode,
                                                            "source": context.source])
            return maintenance(context: context, notice: "Maintenance mode is now \(mode).")
        }
        router.get("/maintenance/diagnostic-logging") { _, context -> Response in
            await diagnosticLogging(context: context, output: nil, error: nil)
        }
        router.post("/maintenance/diagnostic-logging") { _, context -> Response in try await runDiagnosticLogging(context) }
        router.get("/maintenance/diagnostic-logging/download") { _, _ -> Response in
            AdminAPI.bundle(of: node, missing: "press Collect log first")
        }
        router.get("/maintenance/diagnose") { _, context -> Response in
            var values: [String: Any] = ["bundle": node.bundle?.lastPathComponent ?? ""]
            values["report"] = await node.diagnosis()
            return page("diagnose", title: "Diagnose", crumbs: "Maintenance > Diagnostics > Diagnose", values, context: context)
        }
    }

    // MARK: Login

    /// Checks the login form: 429 while the source is locked out, 403 without the login form's
    /// token, 401 for a wrong name or password (counted against the source), else a session.
    private func login(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let source = context.source
        guard let token = request.cookies["\(cookie)_login"]?.value, !token.isEmpty, context.form["csrf"] == token else {
            return message("Log in", error: "the login form's token is missing or stale: open /login again", status: .forbidden, context: nil)
        }
        let name = context.form["username"] ?? "", password = context.form["password"] ?? ""
        if let seconds = sessions.begin(source) {
            node.logEvent("web login refused: too many attempts", metadata: ["user": name, "source": source, "retryAfter": String(seconds)])
            var response = message("Log in", error: "too many failed logins from \(source): try again in \(seconds) s",
                                   status: .tooManyRequests, context: nil)
            response.headers[.retryAfter] = String(seconds)
            return response
        }
        guard let accounts = node.accounts else {
            return message("Log in", error: "\(node.identity) has no admin accounts: add one with edgeway admins add NAME", status: .unauthorized,
                           context: nil)
        }
        let hash = try await AdminPasswords.hash(of: name, in: accounts)
        guard try await AdminPasswords.verify(password, hash: hash), let hash else {
            node.intrusion?.record(.adminLogin, from: source)
            node.logEvent("web login failed", metadata: ["user": name, "source": source])
            var response = page("login", title: "Log in", crumbs: "", ["loginToken": token, "error": "wrong user name or password"],
                                context: nil, status: .unauthorized)
            response.setCookie(cookie(named: "\(cookie)_login", value: token))
            return response
        }
        sessions.succeeded(source)
        let session = sessions.create(name: name, passwordHash: hash)
        node.logEvent("web login", metadata: ["user": name, "source": source])
        var response = Self.redirect("/status/overview")
        response.setCookie(cookie(named: cookie, value: session.id))
        response.setCookie(cookie(named: "\(cookie)_login", value: "", maxAge: 0))
        return response
    }

    // MARK: Configuration

    private func advanced(context: AdminRequestContext, notice: String?, error: String?, status: HTTPResponse.Status) async -> Response {
        var values = WebPages.advanced(node.settings, lines: await node.statusLines(path: ["links"], user: nil))
        values["notice"] = notice
        values["error"] = error
        return page("advanced", title: "Advanced", crumbs: "Configuration > Unified Communications > Configuration > Advanced", values,
                    context: context, status: status)
    }

    /// Sets each SIP Advanced value the admin changed on the page (the form carries each value as
    /// it was shown), as `xconfiguration SIP Advanced NAME: VALUE` would; a value refused is named
    /// with the allowed values, and one changed meanwhile by someone else is left as it is and
    /// said; the others are still saved.
    private func saveAdvanced(_ context: AdminRequestContext) async throws -> Response {
        guard let session = context.session, let settings = node.settings,
              let current = try? settings.values(under: SettingPath(parsing: "SIP Advanced")) else {
            return await advanced(context: context, notice: nil, error: "this node has no SIP Advanced settings", status: .badRequest)
        }
        var saved: [String] = [], refused: [String] = [], kept: [String] = []
        for (path, value) in current {
            guard let name = path.components.last, let given = context.form[name]?.trimmingCharacters(in: .whitespaces) else { continue }
            let shown = context.form["shown-\(name)"] ?? "\(value)"
            guard given.lowercased() != shown.lowercased() else {
                if shown.lowercased() != "\(value)".lowercased() { kept.append("\(name) (now \(value))") }
                continue
            }
            guard shown.lowercased() == "\(value)".lowercased() else {
                refused.append("\(name) changed to \(value) since the page was shown (another admin or the CLI): not saved; check it and save again")
                continue
            }
            do {
                _ = try settings.run(XConfigurationCommand(parsing: "\(path): \(given)"))
                saved.append("\(name): \(given)")
                node.logEvent("web: setting changed", metadata: ["user": session.name, "path": "\(path)", "value": given, "source": context.source])
            } catch {
                refused.append("\(error)")
            }
        }
        var notice = saved.isEmpty ? (refused.isEmpty ? "Nothing changed." : nil) : "Saved \(saved.joined(separator: ", "))."
        if !kept.isEmpty {
            notice = (notice.map { $0 + " " } ?? "") + "Changed meanwhile by another admin or the CLI, and kept: \(kept.joined(separator: ", "))."
        }
        return await advanced(context: context, notice: notice, error: refused.isEmpty ? nil : refused.joined(separator: "; "),
                              status: refused.isEmpty ? .ok : .badRequest)
    }

    private func maintenance(context: AdminRequestContext, notice: String?) -> Response {
        guard let settings = node.settings, let mode = try? settings.value(SettingPath.maintenanceMode) else {
            return message("Maintenance mode", error: "\(node.identity) has no maintenance mode", status: .ok, context: context)
        }
        var values: [String: Any] = ["mode": "\(mode)", "other": mode.isOn == true ? "Off" : "On"]
        values["notice"] = notice
        return page("maintenance", title: "Maintenance mode", crumbs: "Maintenance > Maintenance mode", values, context: context)
    }

    // MARK: Diagnostic logging

    private func diagnosticLogging(context: AdminRequestContext, output: String?, error: String?) async -> Response {
        let status = (try? await node.run(command: "DiagnosticLogging Status"))?.joined(separator: "\n") ?? "no diagnostic logging on this node"
        var values: [String: Any] = ["status": status]
        values["output"] = output
        values["error"] = error
        values["bundle"] = node.bundle?.lastPathComponent
        return page("diagnosticLogging", title: "Diagnostic logging", crumbs: "Maintenance > Diagnostics > Diagnostic Logging", values,
                    context: context, status: error == nil ? .ok : .badRequest)
    }

    /// Start (with Take tcpdump), Add marker, Stop and Collect, as the `xcommand DiagnosticLogging` commands.
    private func runDiagnosticLogging(_ context: AdminRequestContext) async throws -> Response {
        guard let session = context.session else { return Self.redirect("/login") }
        let command: String
        switch context.form["action"] {
        case "start": command = "DiagnosticLogging Start TakeTcpdump: \(context.form["tcpdump"] == "on" ? "On" : "Off")"
        case "marker":
            // One line, its quotes made single: the text cannot end the command's quoted value.
            let text = String((context.form["text"] ?? "").map { $0 == "\"" ? "'" : $0.isNewline ? " " : $0 })
            command = "DiagnosticLogging Marker Text: \"\(text)\""
        case "stop": command = "DiagnosticLogging Stop"
        case "collect": command = "DiagnosticLogging Collect"
        default: return await diagnosticLogging(context: context, output: nil, error: "unknown action; allowed: start, marker, stop, collect")
        }
        node.logEvent("web: command", metadata: ["user": session.name, "command": command, "source": context.source])
        do {
            let lines = try await node.run(command: command)
            return await diagnosticLogging(context: context, output: lines.joined(separator: "\n"), error: nil)
        } catch {
            return await diagnosticLogging(context: context, output: nil, error: "\(error)")
        }
    }

    // MARK: Rendering

    private func page(_ template: String, title: String, crumbs: String, _ values: [String: Any], context: AdminRequestContext?,
                      status: HTTPResponse.Status = .ok) -> Response {
        var all = values
        all["title"] = title
        all["crumbs"] = crumbs
        all["node"] = node.identity
        if let session = context?.session {
            all["user"] = session.name
            all["csrf"] = session.csrf
        }
        let html = WebTemplates.library.render(all, withTemplate: template) ?? "template \(template) is missing"
        // No script, frame or outside resource: the pages need none.
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                                                  .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
                                                  .xContentTypeOptions: "nosniff"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    private func message(_ title: String, error: String, status: HTTPResponse.Status, context: AdminRequestContext?) -> Response {
        page("message", title: title, crumbs: "", ["error": error, "back": context?.session == nil ? "/login" : "/status/overview"],
             context: context, status: status)
    }

    /// A cookie of this listener: `HttpOnly`, `SameSite=Strict`, `Secure` on HTTPS, for every path.
    private func cookie(named name: String, value: String, maxAge: Int? = nil) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    static func text(_ text: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
