import ArgumentParser
import Settings

/// A duration option whose plain numbers are milliseconds: `30s`, `500ms`, `2m` or `30000`
/// (``DurationText``, the grammar settings take too).
struct Milliseconds: ExpressibleByArgument, Sendable {
    /// The duration in whole milliseconds.
    var milliseconds: Int64

    init(_ milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    init?(argument: String) {
        guard let value = DurationText.milliseconds(argument, plainUnit: 1), value <= Double(Int64.max) else { return nil }
        milliseconds = Int64(value.rounded())
    }

    var defaultValueDescription: String { Self.describe(milliseconds) }

    /// `30s`, `500ms`, `2m`: the largest unit that holds the value whole.
    static func describe(_ milliseconds: Int64) -> String {
        if milliseconds >= 60_000, milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds >= 1_000, milliseconds % 1_000 == 0 { return "\(milliseconds / 1_000)s" }
        return "\(milliseconds)ms"
    }
}

/// A duration option whose plain numbers are seconds: `3`, `1.5`, `500ms`, `3s`.
struct Seconds: ExpressibleByArgument, Sendable {
    /// The duration in whole milliseconds.
    var milliseconds: Int64

    init(_ seconds: Int64) {
        milliseconds = seconds * 1_000
    }

    init?(argument: String) {
        guard let value = DurationText.milliseconds(argument, plainUnit: 1_000), value <= Double(Int64.max) else { return nil }
        milliseconds = Int64(value.rounded())
    }

    var defaultValueDescription: String { Milliseconds.describe(milliseconds) }
}
