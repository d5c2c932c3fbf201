import NIOCore
import SIPCore
import SIPTransport

/// The core's default routing mode (SPEC B6): a phone's Contact is rewritten to point at the core,
/// with the phone's own address kept in `orig-hostport`, and the edge and flow token that reach
/// the phone in `x-ew-edge` and `x-ew-flow`; a request that comes back for that Contact is
/// restored from those parameters. Nothing is stored per phone.
public enum ContactRewrite {
    /// The rewritten Contact URI for a phone's Contact URI.
    public static func rewrite(_ uri: SIPURI, core address: SocketAddress, transport: SIPTransportKind,
                               edge: String, token: String) -> SIPURI {
        var rewritten = uri
        let original = uri.port.map { "\(uri.host):\($0)" } ?? String(uri.host)
        rewritten.host = Substring(address.ipAddress ?? "127.0.0.1")
        if rewritten.host.contains(":") { rewritten.host = "[\(rewritten.host)]" }
        rewritten.port = address.port
        if let originalTransport = uri.parameters["transport"] { rewritten.parameters.set("orig-transport", String(originalTransport)) }
        rewritten.parameters.set("transport", transport.rawValue)
        rewritten.parameters.set("orig-hostport", original)
        rewritten.parameters.set("x-ew-edge", edge)
        rewritten.parameters.set("x-ew-flow", token)
        return rewritten
    }

    /// A rewritten URI taken apart: the phone's URI, and the edge and flow token that reach it;
    /// `nil` for a URI this rewriting did not make.
    public static func restore(_ uri: SIPURI) -> (uri: SIPURI, edge: String, token: String)? {
        guard let hostPort = uri.parameters["orig-hostport"], let edge = uri.parameters["x-ew-edge"],
              let token = uri.parameters["x-ew-flow"], let (host, port) = splitHostPort(hostPort)
        else { return nil }
        var original = uri
        original.host = host
        original.port = port
        original.parameters.remove("transport")
        if let transport = uri.parameters["orig-transport"] { original.parameters.set("transport", String(transport)) }
        for name in ["orig-transport", "orig-hostport", "x-ew-edge", "x-ew-flow"] { original.parameters.remove(name) }
        return (original, String(edge), String(token))
    }

    /// A REGISTER or its 200 OK with every rewritten Contact restored (the phone sees its own).
    public static func restoringContacts(_ response: SIPMessage) -> SIPMessage {
        guard let contacts = try? response.contacts(), contacts.contains(where: { restore($0.uri) != nil }) else { return response }
        var copy = response
        copy.headers.remove(.contact)
        for var contact in contacts {
            if let restored = restore(contact.uri) { contact.uri = restored.uri }
            copy.headers.append(.contact, contact.description)
        }
        return copy
    }

    private static func splitHostPort(_ text: Substring) -> (Substring, Int?)? {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = text[...close]
            let rest = text[text.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        let parts = text.split(separator: ":")
        switch parts.count {
        case 1: return (parts[0], nil)
        case 2: return Int(parts[1]).map { (parts[0], $0) }
        default: return nil
        }
    }
}
