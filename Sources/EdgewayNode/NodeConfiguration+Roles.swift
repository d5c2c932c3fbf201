extension NodeConfiguration {
    /// The keys a role reads (`registrar`, `edge`, `core`); every role reads the listeners, the
    /// limits, intrusion protection and its admin API.
    public static func keys(forRole role: String) -> Set<String> {
        let shared: Set<String> = ["name", "data", "listen", "tls", "maxConnectionsPerSource", "maxConnections", "reservedConnections",
                                   "tlsHandshakeTimeout", "firstMessageTimeout", "messageTimeout", "intrusionProtection", "admin", "adminToken", "web", "certificates",
                                   "logging", "diagnostics", "metricsOpen"]
        let proxy: Set<String> = ["linkTimeout"]
        switch role {
        case "registrar": return shared.union(["domain", "store", "location", "digestAlgorithms", "defaultExpires", "minExpires", "maxExpires"])
        case "edge": return shared.union(proxy).union(["traversal"])
        case "core": return shared.union(proxy).union(["edges", "registrars", "registrarsShareBindings", "heartbeatInterval"])
        default: return shared
        }
    }

    /// A line for each key the file gave that `role` does not read, naming the roles that do:
    /// `edges: not used by a registrar (a core key)`. A node prints them as warnings at start.
    public func unusedKeys(role: String) -> [String] {
        let roles = ["registrar", "edge", "core"]
        return keysGiven.filter { !Self.keys(forRole: role).contains($0) }.map { key in
            let users = roles.filter { Self.keys(forRole: $0).contains(key) }
            return "\(key): not used by a \(role) (\(users.isEmpty ? "no role reads it" : "a key of: " + users.joined(separator: ", ")))"
        }
    }
}
