import Diagnostics
import Settings
import Yams

/// The `logging:` and `diagnostics:` sections of a node's YAML.
///
/// ```yaml
/// logging:
///   format: text          # or json
///   stderr: true          # also to standard error
///   maxFileBytes: 10485760
///   keptFiles: 5
///   levels: {events: Info, network.sip: Debug}   # defaults of xconfiguration Logging Module NAME Level
/// diagnostics:
///   maxBytes: 209715200   # message log and capture, per node
///   maxDuration: 30m
/// ```
extension NodeConfiguration {
    static func loggingSettings(_ value: Node, path: String) throws -> (EventLog.Configuration, levels: [String: String]) {
        var configuration = EventLog.Configuration()
        var levels: [String: String] = [:]
        guard let mapping = value.mapping else {
            throw NodeConfigurationError(path: path, key: "logging", problem: "expected format:, stderr:, maxFileBytes:, keptFiles: and levels:")
        }
        for (keyNode, entry) in mapping {
            let key = keyNode.string ?? "?"
            func fail(_ problem: String) -> NodeConfigurationError {
                NodeConfigurationError(path: path, key: "logging.\(key)", problem: problem)
            }
            switch key {
            case "format":
                guard let format = entry.string.flatMap(EventLog.Format.init(rawValue:)) else { throw fail("expected text or json") }
                configuration.format = format
            case "stderr":
                guard let flag = entry.bool else { throw fail("expected true or false") }
                configuration.toStandardError = flag
            case "maxFileBytes":
                guard let number = entry.int, (64 * 1024...1 << 34).contains(number) else { throw fail("expected bytes, 65536 or more") }
                configuration.maxFileBytes = number
            case "keptFiles":
                guard let number = entry.int, (1...100).contains(number) else { throw fail("expected a number, 1..100") }
                configuration.keptFiles = number
            case "levels":
                guard let list = entry.mapping else { throw fail("expected MODULE: LEVEL, e.g. network.sip: Debug") }
                for (moduleNode, levelNode) in list {
                    let module = moduleNode.string ?? "?"
                    guard EventLog.modules.contains(module) else {
                        throw fail("unknown module \(module); allowed: \(EventLog.modules.joined(separator: ", "))")
                    }
                    guard let word = SettingsCatalog.logLevels.first(where: { $0.lowercased() == levelNode.string?.lowercased() }) else {
                        throw fail("\(module): expected one of \(SettingsCatalog.logLevels.joined(separator: ", "))")
                    }
                    levels[module] = word
                }
            default:
                throw fail("unknown key; allowed: format, stderr, maxFileBytes, keptFiles, levels")
            }
        }
        return (configuration, levels)
    }

    static func diagnosticCaps(_ value: Node, path: String) throws -> DiagnosticCaps {
        var caps = DiagnosticCaps()
        guard let mapping = value.mapping else {
            throw NodeConfigurationError(path: path, key: "diagnostics", problem: "expected maxBytes: and maxDuration:")
        }
        for (keyNode, entry) in mapping {
            let key = keyNode.string ?? "?"
            switch key {
            case "maxBytes":
                guard let number = entry.int, number >= 64 * 1024 else {
                    throw NodeConfigurationError(path: path, key: "diagnostics.maxBytes", problem: "expected bytes, 65536 or more")
                }
                caps.maxBytes = number
            case "maxDuration":
                guard let text = entry.string, let milliseconds = DurationText.milliseconds(text, plainUnit: 1_000), milliseconds >= 1_000 else {
                    throw NodeConfigurationError(path: path, key: "diagnostics.maxDuration", problem: "expected a duration of 1s or more, e.g. 30m")
                }
                caps.maxDuration = .milliseconds(Int64(milliseconds))
            default:
                throw NodeConfigurationError(path: path, key: "diagnostics.\(key)", problem: "unknown key; allowed: maxBytes, maxDuration")
            }
        }
        return caps
    }
}
