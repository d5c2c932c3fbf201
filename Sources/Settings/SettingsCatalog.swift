/// Every setting a node knows, with lookups by typed path (SPEC B21, B22).
public struct SettingsCatalog: Sendable {
    /// The settings, in the order help texts list them.
    public let definitions: [SettingDefinition]
    private let byPath: [SettingPath: SettingDefinition]

    /// A catalogue of these settings (paths must differ).
    public init(_ definitions: [SettingDefinition]) {
        self.definitions = definitions
        byPath = Dictionary(definitions.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The settings of edges and cores.
    public static let standard = SettingsCatalog([
        SettingDefinition("SIP Advanced StunKeepAliveForRegisteredPathEnabled", .onOff, default: .onOff(true),
                          summary: "Answer phones' STUN keepalives on their registered path while it is healthy, "
                              + "and advertise X-cisco-supports-AR_SK in REGISTER 200 OKs."),
        SettingDefinition("SIP Advanced SipPathHeaders", .onOff, default: .onOff(false),
                          summary: "The core adds a Path header to REGISTERs instead of rewriting the Contact."),
        SettingDefinition("SIP Advanced StunKeepAliveInterval", .integer(100...3_600_000, unit: "ms"), default: .integer(30_000),
                          summary: "How often the core checks each registrar with a STUN Binding request."),
        SettingDefinition("SIP Advanced StunKeepAliveTimeout", .integer(50...60_000, unit: "ms"), default: .integer(3_000),
                          summary: "How long the core waits for a registrar's STUN answer before the path counts as down."),
        SettingDefinition("SIP Advanced OutboundFlowTimer", .integer(10...3_600, unit: "s"), default: .integer(120),
                          summary: "The Flow-Timer the edge gives RFC 5626 outbound phones (without AR_SK): their CRLF keepalive pace."),
        SettingDefinition("SystemUnit Maintenance Mode", .onOff, default: .onOff(false),
                          summary: "Refuse new registrations with 503 while established calls continue."),
    ])

    /// The setting at exactly this path.
    ///
    /// - Throws: ``SettingsError`` naming the path and the paths that exist under its longest
    ///   known branch.
    public func definition(_ path: SettingPath) throws(SettingsError) -> SettingDefinition {
        if let definition = byPath[path] { return definition }
        throw .unknownPath(path, known: suggestions(for: path))
    }

    /// The settings at or under `path` (`SIP Advanced` gives all SIP Advanced settings; an empty
    /// path gives all).
    ///
    /// - Throws: ``SettingsError`` when nothing is there.
    public func definitions(under path: SettingPath) throws(SettingsError) -> [SettingDefinition] {
        let found = definitions.filter { $0.path.hasPrefix(path) }
        guard !found.isEmpty else { throw .unknownPath(path, known: suggestions(for: path)) }
        return found
    }

    /// The paths that share the longest known branch with `path`, or every path.
    private func suggestions(for path: SettingPath) -> [SettingPath] {
        for length in stride(from: path.components.count - 1, through: 1, by: -1) {
            let branch = SettingPath(Array(path.components.prefix(length)))
            let near = definitions.filter { $0.path.hasPrefix(branch) }.map(\.path)
            if !near.isEmpty { return near }
        }
        return definitions.map(\.path)
    }
}

/// Why a setting could not be read or changed; the description names the path and what is
/// allowed, as an operator needs it.
public enum SettingsError: Error, Equatable, CustomStringConvertible {
    /// No setting at this path.
    case unknownPath(SettingPath, known: [SettingPath])
    /// The value is not one the setting takes.
    case invalidValue(SettingPath, value: String, allowed: String)
    /// The command is not `PATH` or `PATH: VALUE`.
    case malformedCommand(String)
    /// The store failed.
    case storage(String)

    public var description: String {
        switch self {
        case .unknownPath(let path, let known):
            "unknown setting \"\(path)\"; known settings: \(known.map(\.description).joined(separator: "; "))"
        case .invalidValue(let path, let value, let allowed):
            "\"\(value)\" is not a valid value for \(path); allowed values: \(allowed)"
        case .malformedCommand(let text):
            "cannot read \"\(text)\": write xconfiguration PATH to read a setting or xconfiguration PATH: VALUE to change it"
        case .storage(let detail):
            "the settings store failed: \(detail)"
        }
    }
}

extension SettingsCatalog {
    /// The levels a module can log at, most severe first.
    public static let logLevels = ["Error", "Warning", "Info", "Debug"]

    /// `Logging Module NAME Level` for each module (`events`, `network.sip`), defaulting to
    /// `defaults[NAME]` (a word of ``logLevels``) or `Info`: the node's YAML gives the defaults, a
    /// change through `xconfiguration` is kept in the node's settings.
    public static func logging(modules: [String], defaults: [String: String]) -> [SettingDefinition] {
        modules.map { module in
            SettingDefinition("Logging Module \(module) Level", .choice(logLevels), default: .choice(defaults[module] ?? "Info"),
                              summary: module == "network.sip"
                                  ? "Debug logs every SIP and STUN message in and out to logs/message.log (the message log)."
                                  : "The least severe \(module) lines the event log keeps (logs/event.log and standard error).")
        }
    }

    /// This catalogue with `more` settings after its own.
    public func adding(_ more: [SettingDefinition]) -> SettingsCatalog {
        SettingsCatalog(definitions + more)
    }

    /// The path of a module's level.
    public static func loggingLevel(_ module: String) -> SettingPath {
        SettingPath(parsing: "Logging Module \(module) Level")
    }
}
