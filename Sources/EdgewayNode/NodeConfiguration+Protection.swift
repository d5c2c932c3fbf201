import NIOCore
import NIOSSL
import SIPStack
import SIPTransport
import Yams

/// The `intrusionProtection:` section of a node's YAML as written: what it changes from the role's
/// default (``NodeConfiguration/defaultIntrusionProtection`` on an edge,
/// ``NodeConfiguration/internalIntrusionProtection`` on a core or a registrar).
public struct IntrusionSettings: Sendable, Equatable {
    /// `enabled:`, when given.
    public var enabled: Bool?
    /// `exemptions:`, when given: replaces the default list.
    public var exemptions: [AddressPrefix]?
    /// Per category named: its rule (the default rule with the keys given), or `nil` for `off`.
    public var rules: [IntrusionCategory: IntrusionRule?]

    /// Creates settings.
    public init(enabled: Bool? = nil, exemptions: [AddressPrefix]? = nil, rules: [IntrusionCategory: IntrusionRule?] = [:]) {
        self.enabled = enabled
        self.exemptions = exemptions
        self.rules = rules
    }

    /// The role's default with these changes.
    public func applied(to base: IntrusionPolicy) -> IntrusionPolicy {
        var policy = base
        if let enabled { policy.enabled = enabled }
        if let exemptions { policy.exemptions = exemptions }
        for (category, rule) in rules { policy.rules[category] = rule }
        return policy
    }
}

extension NodeConfiguration {
    /// The node's transport: its limits and intrusion protection with the given TLS contexts.
    /// `facesPhones` says whether phones reach the node directly (an edge) or only through
    /// proxies (a core, a registrar behind cores), which picks the default intrusion protection.
    func transportConfiguration(facesPhones: Bool, tlsServer: NIOSSLContext?, tlsClient: NIOSSLContext? = nil,
                                metrics: TransportMetrics? = nil) -> SIPTransportLayer.Configuration {
        var configuration = SIPTransportLayer.Configuration(
            maxConnectionsPerSource: maxConnectionsPerSource, maxConnections: maxConnections, reservedConnections: reservedConnections,
            tlsHandshakeTimeout: .milliseconds(tlsHandshakeTimeout.wholeMilliseconds),
            firstMessageTimeout: .milliseconds(firstMessageTimeout.wholeMilliseconds),
            messageTimeout: .milliseconds(messageTimeout.wholeMilliseconds),
            intrusionPolicy: intrusionPolicy(facesPhones: facesPhones), tlsServer: tlsServer, tlsClient: tlsClient)
        configuration.metrics = metrics
        return configuration
    }

    /// The intrusion protection in force: the role's default with the `intrusionProtection:` changes.
    public func intrusionPolicy(facesPhones: Bool) -> IntrusionPolicy {
        let base = facesPhones ? Self.defaultIntrusionProtection : Self.internalIntrusionProtection
        return intrusionProtection?.applied(to: base) ?? base
    }

    /// An edge's default intrusion protection: every category on with the default rules, the
    /// loopback addresses exempt (local tools and the lab, whose phones all come from 127.0.0.1).
    public static let defaultIntrusionProtection = IntrusionPolicy(
        enabled: true, rules: IntrusionPolicy.defaultRules, exemptions: ["127.0.0.0/8", "::1"].compactMap(AddressPrefix.init))

    /// A core's and a registrar's default: only `AdminLogin` counted. Their SIP comes from the
    /// proxies in front of them, which carry every phone's requests, failures and mistakes: counted
    /// per source it would block a proxy and with it every phone behind it. A registrar that
    /// phones reach directly names the SIP categories in its `intrusionProtection:` section.
    public static let internalIntrusionProtection = IntrusionPolicy(
        enabled: true, rules: IntrusionPolicy.defaultRules.filter { $0.key == .adminLogin }, exemptions: defaultIntrusionProtection.exemptions)

    /// Parses the `intrusionProtection:` mapping: `enabled`, `exemptions` (a list of
    /// `ADDRESS[/LENGTH]`) and per category (`SIPAuthentication`, `SIPMalformed`,
    /// `SIPRequestRate`, `AdminLogin`) `triggerLevel`, `detectionWindow` and `blockDuration` in
    /// seconds, or `off`. A category named starts from its default rule; anything not named keeps
    /// the role's default.
    static func intrusionSettings(_ node: Node, path: String) throws -> IntrusionSettings {
        func fail(_ key: String, _ problem: String) -> NodeConfigurationError {
            NodeConfigurationError(path: path, key: "intrusionProtection\(key.isEmpty ? "" : ".\(key)")", problem: problem)
        }
        guard let mapping = node.mapping else { throw fail("", "expected a mapping: enabled, exemptions and categories") }
        var settings = IntrusionSettings()
        let categories = IntrusionCategory.allCases.map(\.rawValue)
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "?"
            switch key {
            case "enabled":
                guard let flag = value.bool else { throw fail(key, "expected true or false") }
                settings.enabled = flag
            case "exemptions":
                guard let entries = value.sequence else {
                    throw fail(key, "expected a list of IP addresses or ADDRESS/LENGTH prefixes, e.g. [10.0.0.0/8, 192.0.2.10]")
                }
                settings.exemptions = try entries.map { entry in
                    guard let prefix = entry.string.flatMap(AddressPrefix.init) else {
                        throw fail(key, "\(entry.string ?? "?") is not an IP address or ADDRESS/LENGTH prefix (IPv4 /0–/32, IPv6 /0–/128)")
                    }
                    return prefix
                }
            default:
                guard let category = IntrusionCategory(rawValue: key) else {
                    throw fail(key, "unknown key; allowed: enabled, exemptions, \(categories.joined(separator: ", "))")
                }
                if value.string == "off" {
                    settings.rules[category] = .some(nil)
                    continue
                }
                guard let ruleMapping = value.mapping else { throw fail(key, "expected triggerLevel, detectionWindow, blockDuration or off") }
                var rule = IntrusionPolicy.defaultRules[category]!
                for (ruleKey, ruleValue) in ruleMapping {
                    let name = ruleKey.string ?? "?"
                    guard let number = ruleValue.int, number >= 1 else { throw fail("\(key).\(name)", "expected a whole number, at least 1") }
                    switch name {
                    case "triggerLevel": rule.triggerLevel = number
                    case "detectionWindow": rule.detectionWindow = .seconds(number)
                    case "blockDuration": rule.blockDuration = .seconds(number)
                    default: throw fail("\(key).\(name)", "unknown key; allowed: triggerLevel, detectionWindow, blockDuration (seconds)")
                    }
                }
                settings.rules[category] = rule
            }
        }
        return settings
    }
}
