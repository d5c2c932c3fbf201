/// A path in the xConfiguration tree, such as `SIP Advanced StunKeepAliveForRegisteredPathEnabled`
/// (SPEC B21): words separated by spaces, compared without regard to case, shown in the
/// catalogue's spelling.
public struct SettingPath: Hashable, Sendable, CustomStringConvertible {
    /// The words as spelled in the catalogue (or as typed, for a path not in it).
    public let components: [String]

    /// A path from its words.
    public init(_ components: [String]) {
        self.components = components
    }

    /// A path from text with words separated by spaces or tabs (`"sip advanced sippathheaders"`).
    public init(parsing text: some StringProtocol) {
        components = String(text).split(whereSeparator: { (character: Character) in character == " " || character == "\t" }).map(String.init)
    }

    /// The words lowercased: what lookups compare.
    public var key: [String] {
        components.map { $0.lowercased() }
    }

    /// Whether `prefix` names this path or a branch above it (`SIP Advanced` for every SIP
    /// Advanced setting); case does not matter.
    public func hasPrefix(_ prefix: SettingPath) -> Bool {
        prefix.components.count <= components.count && Array(key.prefix(prefix.components.count)) == prefix.key
    }

    public static func == (lhs: SettingPath, rhs: SettingPath) -> Bool {
        lhs.key == rhs.key
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
    }

    /// The words joined by single spaces.
    public var description: String {
        components.joined(separator: " ")
    }
}
