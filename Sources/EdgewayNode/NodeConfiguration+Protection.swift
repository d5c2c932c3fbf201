import NIOCore
import NIOSSL
import SIPStack
import SIPTransport
import Yams

extension NodeConfiguration {
    /// The node's transport: its limits and intrusion protection with the given TLS contexts.
    /// `facesPhones` says whether phones reach the node directly (an edge) or only through
    /// proxies (a core, a registrar behind cores), which picks the default intrusion protection.
    func transportConfiguration(facesPhones: Bool, tlsServer: NIOSSLContext?, tlsClient: NIOSSLContext? = nil) -> SIPTransportLayer.Configuration {
        SIPTransportLayer.Configuration(
            maxConnectionsPerSource: maxConnectionsPerSource, maxConnections: maxConnections, reservedConnections: reservedConnections,
            tlsHandshakeTimeout: .milliseconds(tlsHandshakeTimeout.wholeMilliseconds),
            firstMessageTimeout: .milliseconds(firstMessageTimeout.wholeMilliseconds),
            messageTimeout: .milliseconds(messageTimeout.wholeMilliseconds),
            intrusionPolicy: intrusionProtection ?? (facesPhones ? Self.defaultIntrusionProtection : Self.internalIntrusionProtection),
            tlsServer: tlsServer, tlsClient: tlsClient)
    }

    /// A node's default intrusion protection: every category on with the default rules, the
    /// loopback addresses exempt (local tools and the lab, whose phones all come from 127.0.0.1).
    public static let defaultIntrusionProtection = IntrusionPolicy(
        enabled: true, rules: IntrusionPolicy.defaultRules, exemptions: ["127.0.0.0/8", "::1"].compactMap(AddressPrefix.init))

    /// A core's and a registrar's default: only `AdminLogin` counted. Their SIP comes from the
    /// proxies in front of them, which carry every phone's requests, failures and mistakes: counted
    /// per source it would block a proxy and with it every phone behind it. A registrar that
    /// phones reach directly turns the SIP categories on with an `intrusionProtection:` section.
    public static let internalIntrusionProtection = IntrusionPolicy(
        enabled: true, rules: IntrusionPolicy.defaultRules.filter { $0.key == .adminLogin }, exemptions: defaultIntrusionProtection.exemptions)

    /// Parses the `intrusionProtection:` mapping, which starts from ``defaultIntrusionProtection``
    /// (every category) whatever the role: `enabled`, `exemptions` (a list of
    /// `ADDRESS[/LENGTH]`) and per category (`SIPAuthentication`, `SIPMalformed`,
    /// `SIPRequestRate`, `AdminLogin`) `triggerLevel`, `detectionWindow` and `blockDuration` in
    /// seconds, or `off`. Keys left out keep their defaults.
    static func intrusionPolicy(_ node: Node, path: String) throws -> IntrusionPolicy {
        func fail(_ key: String, _ problem: String) -> NodeConfigurationError {
            NodeConfigurationError(path: path, key: "intrusionProtection\(key.isEmpty ? "" : ".\(key)")", problem: problem)
        }
        guard let mapping = node.mapping else { throw fail("", "expected a mapping: enabled, exemptions and categories") }
        var policy = defaultIntrusionProtection
        let categories = IntrusionCategory.allCases.map(\.rawValue)
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "?"
            switch key {
            case "enabled":
                guard let flag = value.bool else { throw fail(key, "expected true or false") }
                policy.enabled = flag
            case "exemptions":
                guard let list = value.sequence?.map({ $0.string.flatMap(AddressPrefix.init) }), !list.contains(where: { $0 == nil })
                else { throw fail(key, "expected a list of IP addresses or ADDRESS/LENGTH prefixes, e.g. 10.0.0.0/8") }
                policy.exemptions = list.compactMap { $0 }
            default:
                guard let category = IntrusionCategory(rawValue: key) else {
                    throw fail(key, "unknown key; allowed: enabled, exemptions, \(categories.joined(separator: ", "))")
                }
                if value.string == "off" {
                    policy.rules[category] = nil
                    continue
                }
                guard let ruleMapping = value.mapping else { throw fail(key, "expected triggerLevel, detectionWindow, blockDuration or off") }
                var rule = policy.rules[category] ?? IntrusionPolicy.defaultRules[category]!
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
                policy.rules[category] = rule
            }
        }
        return policy
    }
}
