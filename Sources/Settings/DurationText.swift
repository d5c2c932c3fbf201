/// One grammar for durations, in settings and on the command line: `300ms`, `30s`, `1.5s`, `2m`,
/// `1h`, or a plain number in the unit the place documents.
public enum DurationText {
    /// The duration `text` names, in milliseconds, or `nil` when it is not one. A plain number is
    /// in units of `plainUnit` milliseconds (1 for milliseconds, 1,000 for seconds).
    public static func milliseconds(_ text: String, plainUnit: Double) -> Double? {
        let word = text.trimmingSpaces.lowercased()
        // "ms" before "s" and "m": the longest suffix decides.
        for (suffix, factor) in [("ms", 1.0), ("s", 1_000.0), ("m", 60_000.0), ("h", 3_600_000.0)] where word.hasSuffix(suffix) {
            guard let number = Double(word.dropLast(suffix.count)), number.isFinite, number >= 0 else { return nil }
            return number * factor
        }
        guard let number = Double(word), number.isFinite, number >= 0 else { return nil }
        return number * plainUnit
    }
}
