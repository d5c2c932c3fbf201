/// The text after `xconfiguration` (SPEC B22): `PATH` reads a setting or a branch, `PATH: VALUE`
/// changes one. Words and values are case-insensitive.
public struct XConfigurationCommand: Equatable, Sendable {
    /// The path typed.
    public let path: SettingPath
    /// The value typed after `:`, or `nil` for a read.
    public let value: String?

    /// Reads `SIP Advanced StunKeepAliveForRegisteredPathEnabled: off` or `sip advanced`.
    public init(parsing text: String) throws(SettingsError) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        path = SettingPath(parsing: parts[0])
        if parts.count == 2 {
            let typed = String(parts[1]).trimmingSpaces
            guard !typed.isEmpty else { throw .malformedCommand(text) }
            value = typed
        } else {
            value = nil
        }
        guard value == nil || !path.components.isEmpty else { throw .malformedCommand(text) }
    }

    /// The line a read prints for one setting, in the original's form:
    /// `*c xConfiguration SIP Advanced SipPathHeaders: Off`.
    public static func line(_ path: SettingPath, _ value: SettingValue) -> String {
        "*c xConfiguration \(path): \(value)"
    }
}
