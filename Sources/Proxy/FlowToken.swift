import Crypto
import Foundation

/// Flow tokens (RFC 5626 §5.2): the edge names a phone's connection in the Path and Record-Route
/// URIs it adds, so requests for the phone come back to that very connection. A token is the
/// connection id with an HMAC-SHA256 tag, so a forged one is told apart from a stale one.
public struct FlowTokenSigner: Sendable {
    /// What a token says.
    public enum Verdict: Equatable, Sendable {
        /// The token was made here and names this connection (which may have closed since).
        case valid(connectionID: UInt64)
        /// The token was not made with this key: answer 403 (RFC 5626 §5.3).
        case forged
    }

    private let key: [UInt8]

    /// A signer with a secret key (32 random bytes when none is given: tokens then last as long
    /// as the process, like the connections they name).
    public init(key: [UInt8]? = nil) {
        self.key = key ?? (0..<32).map { _ in UInt8.random(in: 0...255) }
    }

    /// The token for a connection: `f<id hex>.<tag hex>`, valid in a SIP URI user part.
    public func token(for connectionID: UInt64) -> String {
        let id = String(connectionID, radix: 16)
        return "f\(id).\(tag(id))"
    }

    /// Checks a token.
    public func verify(_ token: some StringProtocol) -> Verdict {
        let text = Substring(token)
        guard text.first == "f", let dot = text.firstIndex(of: ".") else { return .forged }
        let id = text[text.index(after: text.startIndex)..<dot]
        guard let connectionID = UInt64(id, radix: 16), text[text.index(after: dot)...] == tag(String(id)) else {
            return .forged
        }
        return .valid(connectionID: connectionID)
    }

    private func tag(_ id: String) -> Substring {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(id.utf8), using: SymmetricKey(data: key))
        return Substring(mac.prefix(10).map { String(format: "%02x", $0) }.joined())
    }
}
