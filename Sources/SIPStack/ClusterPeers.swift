import Foundation
import NIOConcurrencyHelpers
import SIPCore

/// A node of the cluster as its peers reach it for diagnostic logging across the cluster
/// (SPEC B25): its name, its admin API and the token that API takes from peers.
public struct ClusterPeer: Sendable, Equatable {
    /// The node's name (`edge-1`).
    public var name: String
    /// Its admin API, `http://127.0.0.1:17020`.
    public var admin: String
    /// The peer token its admin API takes on `/api/cluster` (not the operator's admin token).
    public var token: String

    /// Creates a peer.
    public init(name: String, admin: String, token: String) {
        self.name = name
        self.admin = admin
        self.token = token
    }
}

/// The peers a node has heard of. Each node tells its neighbours who it is in an
/// `X-Edgeway-Peer` header: edges and cores on the traversal heartbeat (the core's OPTIONS and the
/// edge's 200 OK, over the mutually authenticated TLS link), cores and registrars in an OPTIONS
/// the core sends each registrar and its 200 OK. Peers stay known after their link goes down, so
/// a diagnostic log can say which node it could not reach.
public final class ClusterPeers: Sendable {
    /// The header: `X-Edgeway-Peer: name=edge-1;admin="http://127.0.0.1:17020";token=…`.
    public static let header: SIPHeaderName = "X-Edgeway-Peer"

    private let state = NIOLockedValueBox<(local: ClusterPeer?, known: [String: ClusterPeer])>((nil, [:]))

    /// Creates an empty directory.
    public init() {}

    /// This node, once its admin API runs (`nil` before: nothing is told).
    public var local: ClusterPeer? {
        get { state.withLockedValue { $0.local } }
        set { state.withLockedValue { $0.local = newValue } }
    }

    /// The peers heard of, by name.
    public var known: [ClusterPeer] {
        state.withLockedValue { $0.known.values.sorted { $0.name < $1.name } }
    }

    /// Notes the peer a message names, if it names one (and not this node).
    public func record(_ message: SIPMessage) {
        guard let value = message.headers[Self.header], let peer = Self.parse(value) else { return }
        state.withLockedValue { state in
            // A name already known is updated; new names stop at 64 (a cluster has a handful).
            guard peer.name != state.local?.name, state.known[peer.name] != nil || state.known.count < 64 else { return }
            state.known[peer.name] = peer
        }
    }

    /// Adds this node's `X-Edgeway-Peer` to a message (nothing before the admin API runs).
    public func stamp(_ message: inout SIPMessage) {
        guard let local else { return }
        message.headers.append(Self.header, "name=\(local.name);admin=\"\(local.admin)\";token=\(local.token)")
    }

    /// Whether `message` is an OPTIONS that carries a peer's header (an answer to it carries ours).
    public static func isPeerOptions(_ message: SIPMessage) -> Bool {
        message.requestLine?.method == "OPTIONS" && message.headers[header] != nil
    }

    /// The header as it starts a line of a message this node wrote.
    public static let headerBytes = Array("\r\nX-Edgeway-Peer:".utf8)

    /// `message` with the token of its `X-Edgeway-Peer` header replaced by `redacted`, for logs
    /// and captures, which must not hand the token on; other bytes are returned as they are.
    public static func redacted(_ bytes: [UInt8]) -> [UInt8]? {
        let key = Array("token=".utf8)
        guard let header = bytes.firstRange(of: headerBytes) else { return nil }
        let lineEnd = bytes[header.upperBound...].firstRange(of: [0x0D, 0x0A])?.lowerBound ?? bytes.endIndex
        guard let token = bytes[header.upperBound..<lineEnd].firstRange(of: key) else { return nil }
        let valueEnd = bytes[token.upperBound..<lineEnd].firstIndex(of: UInt8(ascii: ";")) ?? lineEnd
        return Array(bytes[..<token.upperBound]) + Array("redacted".utf8) + Array(bytes[valueEnd...])
    }

    static func parse(_ value: Substring) -> ClusterPeer? {
        var fields: [Substring: String] = [:]
        for field in value.split(separator: ";") {
            let parts = field.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            fields[parts[0].trimmingCharacters(in: .whitespaces)[...]] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        }
        guard let name = fields["name"], !name.isEmpty, let admin = fields["admin"], admin.hasPrefix("http"),
              let token = fields["token"], !token.isEmpty else { return nil }
        return ClusterPeer(name: name, admin: admin, token: token)
    }
}
