import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SIPStack

/// What one node did with a diagnostic-log command.
public struct NodeOutcome: Codable, Sendable, Equatable {
    /// The node's name.
    public var node: String
    /// Whether it did it.
    public var ok: Bool
    /// What it did or why not (`started`, `cannot reach http://…: …`).
    public var detail: String
}

/// A diagnostic-log command as one node hands it to the next (`POST /api/cluster`, JSON).
struct RelayRequest: Codable, Sendable {
    enum Command: String, Codable, Sendable { case start, marker, stop, collect }
    var command: Command
    var id: String
    var tcpdump = false
    var text: String?
    /// Nodes already reached or being reached: not asked again.
    var visited: [String]
    /// When the asking node stops waiting (seconds since 1970): each hop gives the next a few
    /// seconds less, so an answer from deep in the cluster arrives before the ask gives up.
    var deadline: Double?
}

/// The answer: what each node reached through the asked one did, and for `collect` each node's
/// folder as a base64 `.tar.gz`.
struct RelayAnswer: Codable, Sendable {
    var outcomes: [NodeOutcome]
    var archives: [String: String] = [:]
}

/// Hands a command on to a peer's admin API and reads its answer.
enum ClusterRelay {
    static func send(_ request: RelayRequest, to peer: ClusterPeer) async -> RelayAnswer {
        guard let url = URL(string: "\(peer.admin)/api/cluster") else {
            return RelayAnswer(outcomes: [NodeOutcome(node: peer.name, ok: false, detail: "its admin address \(peer.admin) is not a URL")])
        }
        var http = URLRequest(url: url)
        http.httpMethod = "POST"
        http.setValue("Bearer \(peer.token)", forHTTPHeaderField: "Authorization")
        http.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let deadline = request.deadline ?? Date().timeIntervalSince1970 + (request.command == .collect ? 300 : 60)
        var onward = request
        onward.deadline = deadline - 3
        http.httpBody = try? JSONEncoder().encode(onward)
        http.timeoutInterval = max(1, deadline - Date().timeIntervalSince1970)
        do {
            let (body, response) = try await URLSession.shared.data(for: http)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard status == 200 else {
                let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                return RelayAnswer(outcomes: [NodeOutcome(node: peer.name, ok: false, detail: "its admin API answered \(status): \(text)")])
            }
            return try JSONDecoder().decode(RelayAnswer.self, from: body)
        } catch {
            return RelayAnswer(outcomes: [NodeOutcome(node: peer.name, ok: false,
                                                      detail: "cannot reach its admin API at \(peer.admin): \(error.localizedDescription)")])
        }
    }
}
