import Foundation
import Hummingbird
import NIOCore
import Settings

/// The admin API's routes (SPEC B22, B29), on both the admin listener and the web listener;
/// see ``AdminServer`` for the endpoints.
enum AdminAPI {
    static func register(on router: Router<AdminRequestContext>, node: any AdministeredNode) {
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
            bundle(of: node, missing: "run xcommand DiagnosticLogging Collect")
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
    }

    /// The last diagnostic-log bundle collected on `node` as a download (`.tar.gz`), or 404 saying
    /// there is none and what to do (`missing`).
    static func bundle(of node: any AdministeredNode, missing: String) -> Response {
        guard let bundle = node.bundle, let data = FileManager.default.contents(atPath: bundle.path) else {
            return Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(
                string: "no bundle of the last diagnostic log has been collected on \(node.identity): \(missing)\n")))
        }
        return Response(status: .ok, headers: [.contentType: "application/gzip",
                                               .contentDisposition: "attachment; filename=\"\(bundle.lastPathComponent)\""],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
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
