import NIOCore
import SIPCore
import SIPStack
import SIPTransport

/// The Record-Route, Path and Route URIs edges and cores put in messages: each names its node in
/// `x-ew-node`, and an edge's also carries a flow token as its user part, so a node finds its own
/// entry and the next node's without keeping any per-dialog state.
public enum NodeRoute {
    /// The URI parameter that names the node an entry belongs to.
    public static let nodeParameter = "x-ew-node"

    /// `<sip:[token@]host:port;transport=…;lr[;ob];x-ew-node=NAME>`.
    public static func entry(node: String, at address: SocketAddress, transport: SIPTransportKind, token: String? = nil,
                             outbound: Bool = false) -> String {
        let user = token.map { "\($0)@" } ?? ""
        let ob = outbound ? ";ob" : ""
        return "<sip:\(user)\(ProxyForwarder.hostPort(address));transport=\(transport);lr\(ob);\(nodeParameter)=\(node)>"
    }

    /// The node an entry belongs to.
    public static func node(of address: NameAddress) -> Substring? {
        address.uri.parameters[nodeParameter]
    }

    /// The first Route entry, if any is readable.
    public static func firstRoute(of message: SIPMessage) -> NameAddress? {
        guard message.headers.contains(.route) else { return nil }
        return (try? message.nameAddresses(.route))?.first
    }

    /// Removes the first Route entry when it is this node's and returns it (RFC 3261 §16.4).
    public static func popOwn(_ message: inout SIPMessage, node: String) -> NameAddress? {
        guard let first = firstRoute(of: message), self.node(of: first) == node[...] else { return nil }
        try? message.headers.removeFirstValue(.route)
        return first
    }

    /// Whether a request opens a dialog (no To tag), so the node must record-route it.
    public static func opensDialog(_ request: SIPMessage) -> Bool {
        guard let method = request.requestLine?.method, ["INVITE", "SUBSCRIBE", "REFER"].contains(method) else { return false }
        return (try? request.to())?.parameters["tag"] == nil
    }
}

extension SIPMessage {
    /// Whether a REGISTER asks for RFC 5626 outbound: `Supported: outbound` and a Contact with
    /// `reg-id` and `+sip.instance`.
    var offersOutbound: Bool {
        guard hasOptionTag("outbound", in: .supported), let contacts = try? contacts() else { return false }
        return contacts.contains { $0.parameters.contains("reg-id") && $0.parameters.contains("+sip.instance") }
    }
}

/// SPEC B4: the AR_SK offer and its acceptance.
public enum ARSK {
    /// The option tag of an accepted offer in a REGISTER's 200 OK.
    public static let supportedTag = "X-cisco-supports-AR_SK"

    /// Whether the phone offered keepalive failover (Contact `x-cisco-mra-ha=AR_SK` or the tag in Supported).
    public static func offered(in request: SIPMessage) -> Bool {
        let contacts = (try? request.contacts()) ?? []
        return contacts.contains { $0.parameters["x-cisco-mra-ha"]?.lowercased() == "ar_sk" }
            || request.optionTags(.supported).contains { $0.lowercased().hasSuffix("ar_sk") }
    }

    /// Whether a response advertises acceptance.
    public static func accepted(in response: SIPMessage) -> Bool {
        response.hasOptionTag(supportedTag, in: .supported)
    }

    /// The 200 OK to a REGISTER as this node relays it: the acceptance stays only when the
    /// setting is On here and on the peer at the other end of the traversal link (SPEC B4, B24).
    public static func relayed(_ response: SIPMessage, onHere: Bool, onAtPeer: Bool) -> SIPMessage {
        onHere && onAtPeer ? response : withoutAcceptance(response)
    }

    /// The response without the acceptance tag (other Supported tags kept).
    public static func withoutAcceptance(_ response: SIPMessage) -> SIPMessage {
        guard accepted(in: response) else { return response }
        var copy = response
        let tags = copy.optionTags(.supported).filter { $0.lowercased() != supportedTag.lowercased() }
        copy.headers.remove(.supported)
        if !tags.isEmpty { copy.headers.append(.supported, tags.joined(separator: ", ")) }
        return copy
    }
}
