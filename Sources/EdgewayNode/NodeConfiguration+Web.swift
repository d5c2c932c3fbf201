import Foundation
import NIOCore
import Settings
import Yams

/// The web UI's listener (`web:` in a node's YAML; SPEC B23).
public struct WebSettings: Sendable, Equatable {
    /// Where it listens; `nil` (`web: off`): no web UI. Default `127.0.0.1:0` (a free port,
    /// written with the URL to `data/web.url`).
    public var address: String? = "127.0.0.1:0"
    /// Plain HTTP instead of HTTPS with the node's certificate: only on a loopback address.
    public var plainHTTP = false
    /// A session unused this long ends (default 15 minutes).
    public var idleTimeout: Duration = .seconds(15 * 60)

    /// The defaults.
    public init() {}
}

extension NodeConfiguration {
    /// `web: off`, or `web: {address: HOST:PORT, plainHTTP: BOOL, idleTimeout: DURATION}`.
    static func webSettings(_ value: Node, path: String) throws -> WebSettings {
        var web = WebSettings()
        if value.string?.lowercased() == "off" || value.bool == false {
            web.address = nil
            return web
        }
        guard let mapping = value.mapping else {
            throw NodeConfigurationError(path: path, key: "web", problem: "expected off, or address:, plainHTTP: and idleTimeout:")
        }
        for (keyNode, entry) in mapping {
            let key = keyNode.string ?? "?"
            switch key {
            case "address":
                guard let text = entry.string, Self.splitHostPort(text) != nil else {
                    throw NodeConfigurationError(path: path, key: "web.address", problem: "expected host:port, e.g. 0.0.0.0:8443")
                }
                web.address = text
            case "plainHTTP":
                guard let flag = entry.bool else { throw NodeConfigurationError(path: path, key: "web.plainHTTP", problem: "expected true or false") }
                web.plainHTTP = flag
            case "idleTimeout":
                guard let text = entry.string, let milliseconds = DurationText.milliseconds(text, plainUnit: 1_000),
                      (60_000...86_400_000).contains(milliseconds) else {
                    throw NodeConfigurationError(path: path, key: "web.idleTimeout", problem: "expected a duration of 1m…24h, e.g. 15m")
                }
                web.idleTimeout = .milliseconds(Int64(milliseconds))
            default:
                throw NodeConfigurationError(path: path, key: "web.\(key)", problem: "unknown key; allowed: address, plainHTTP, idleTimeout")
            }
        }
        if web.plainHTTP, let address = web.address, let (host, _) = Self.splitHostPort(address), !Self.isLoopback(host) {
            throw NodeConfigurationError(path: path, key: "web.plainHTTP",
                                         problem: "plain HTTP is allowed only on a loopback address (127.0.0.0/8, ::1, localhost), not \(host)")
        }
        return web
    }

    /// Whether `host` is a loopback address or `localhost`.
    static func isLoopback(_ host: String) -> Bool {
        guard host != "localhost" else { return true }
        switch try? SocketAddress(ipAddress: host, port: 0) {
        case .v4(let address): return UInt32(bigEndian: address.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let address): return withUnsafeBytes(of: address.address.sin6_addr) { Array($0) } == Array(repeating: 0, count: 15) + [1]
        default: return false
        }
    }
}
