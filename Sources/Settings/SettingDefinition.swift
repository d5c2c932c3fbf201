/// A value of a setting: On/Off, a whole number, or one word of a fixed list.
public enum SettingValue: Hashable, Sendable, CustomStringConvertible {
    /// `On` or `Off`.
    case onOff(Bool)
    /// A whole number.
    case integer(Int)
    /// One of the choices of the setting, in the catalogue's spelling.
    case choice(String)

    /// The value as the CLI shows it: `On`, `Off`, `30000`, `TLS`.
    public var description: String {
        switch self {
        case .onOff(let on): on ? "On" : "Off"
        case .integer(let number): String(number)
        case .choice(let word): word
        }
    }

    /// The value when it is On/Off.
    public var isOn: Bool? {
        if case .onOff(let on) = self { return on }
        return nil
    }

    /// The value when it is a number.
    public var integer: Int? {
        if case .integer(let number) = self { return number }
        return nil
    }
}

/// What values a setting takes.
public enum SettingKind: Hashable, Sendable {
    /// `On` or `Off`.
    case onOff
    /// A whole number in a range, with its unit for help texts (`ms`, `s`).
    case integer(ClosedRange<Int>, unit: String)
    /// One word of a list (compared without regard to case).
    case choice([String])

    /// The allowed values as an error message or help text states them.
    public var allowedValues: String {
        switch self {
        case .onOff: "On, Off"
        case .integer(let range, let unit) where unit == "ms" || unit == "s":
            "\(range.lowerBound)..\(range.upperBound) (\(unit); or a duration such as 30s, 500ms, 2m)"
        case .integer(let range, let unit): "\(range.lowerBound)..\(range.upperBound) (\(unit))"
        case .choice(let words): words.joined(separator: ", ")
        }
    }

    /// Reads typed text as a value of this kind, or `nil` when it is not one.
    public func value(parsing text: String) -> SettingValue? {
        let word = text.trimmingSpaces
        switch self {
        case .onOff:
            switch word.lowercased() {
            case "on": return .onOff(true)
            case "off": return .onOff(false)
            default: return nil
            }
        case .integer(let range, let unit) where unit == "ms" || unit == "s":
            // A duration in any unit of ``DurationText`` (`30s`, `500ms`), stored in the setting's own.
            let factor = unit == "ms" ? 1.0 : 1_000.0
            guard let milliseconds = DurationText.milliseconds(word, plainUnit: factor) else { return nil }
            let value = milliseconds / factor
            guard value == value.rounded(), let number = Int(exactly: value), range.contains(number) else { return nil }
            return .integer(number)
        case .integer(let range, _):
            guard let number = Int(word), range.contains(number) else { return nil }
            return .integer(number)
        case .choice(let words):
            return words.first { $0.lowercased() == word.lowercased() }.map(SettingValue.choice)
        }
    }
}

/// One setting of the catalogue: where it is, what it takes, its default and what it does.
public struct SettingDefinition: Sendable {
    /// Its path.
    public let path: SettingPath
    /// The values it takes.
    public let kind: SettingKind
    /// The value until an operator sets another.
    public let defaultValue: SettingValue
    /// One sentence for help texts and the web UI.
    public let summary: String

    /// A setting; `defaultValue` must be of `kind`.
    public init(_ path: String, _ kind: SettingKind, default defaultValue: SettingValue, summary: String) {
        self.path = SettingPath(parsing: path)
        self.kind = kind
        self.defaultValue = defaultValue
        self.summary = summary
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
