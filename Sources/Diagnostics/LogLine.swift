import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// The text shapes of Edgeway's logs, after the Expressway network and event logs that existing
/// log tools parse: `2026-12-01T08:30:00.123Z edge-1 edgeway: UTCTime="2026-12-01 08:30:00,123"
/// Module="network.sip" Level="DEBUG":  Action="Received" …`.
enum LogLine {
    /// The line's head up to and including `Level="…":`, for `node` and `module` at `time`.
    static func head(time: Date, node: String, module: String, level: String) -> String {
        var buffer = ByteBuffer()
        writeHead(into: &buffer, time: time, node: node, module: module, level: level)
        return String(buffer: buffer)
    }

    /// Writes ``head(time:node:module:level:)`` into `buffer` without building it as a string.
    static func writeHead(into buffer: inout ByteBuffer, time: Date, node: String, module: String, level: String) {
        let (iso, utc) = stamps(time)
        buffer.writeString(iso)
        buffer.writeString(" ")
        buffer.writeString(node)
        buffer.writeString(" edgeway: UTCTime=\"")
        buffer.writeString(utc)
        buffer.writeString("\" Module=\"")
        buffer.writeString(module)
        buffer.writeString("\" Level=\"")
        buffer.writeString(level.uppercased())
        buffer.writeString("\":")
    }

    /// Writes ` key="value"`; the value must need no escaping (addresses, numbers, names).
    static func writeField(into buffer: inout ByteBuffer, _ key: StaticString, _ value: String) {
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeStaticString(key)
        buffer.writeString("=\"")
        buffer.writeString(value)
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// `key="value"` with quotes and line breaks in the value escaped.
    static func field(_ key: String, _ value: String) -> String {
        "\(key)=\"\(escape(value))\""
    }

    static func escape(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x22 || $0 == 0x5C || $0 == 0x0A || $0 == 0x0D }) else { return value }
        return value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }

    /// `2026-12-01T08:30:00.123Z` and `2026-12-01 08:30:00,123`, both UTC. The date and time of
    /// day are worked out once a second (a busy message log asks thousands of times a second).
    static func stamps(_ time: Date) -> (iso: String, utc: String) {
        let total = Int64((time.timeIntervalSince1970 * 1000).rounded())
        let second = total / 1000
        let millis = Int(total % 1000)
        let (date, clock) = secondCache.withLockedValue { cache -> (String, String) in
            if cache.second == second { return (cache.date, cache.clock) }
            var seconds = time_t(second)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            cache = (second, "\(digits(Int(parts.tm_year) + 1900, 4))-\(digits(Int(parts.tm_mon) + 1, 2))-\(digits(Int(parts.tm_mday), 2))",
                     "\(digits(Int(parts.tm_hour), 2)):\(digits(Int(parts.tm_min), 2)):\(digits(Int(parts.tm_sec), 2))")
            return (cache.date, cache.clock)
        }
        let fraction = digits(millis, 3)
        return ("\(date)T\(clock).\(fraction)Z", "\(date) \(clock),\(fraction)")
    }

    private static let secondCache = NIOLockedValueBox<(second: Int64, date: String, clock: String)>((-1, "", ""))

    /// `number` with leading zeros to `width` digits.
    private static func digits(_ number: Int, _ width: Int) -> String {
        let text = String(number)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// Reads the `UTCTime="…"` of a line back (nil when absent or unreadable).
    static func time(of line: Substring) -> Date? {
        guard let start = line.range(of: "UTCTime=\"") else { return nil }
        let text = line[start.upperBound...].prefix(23)
        guard text.count == 23 else { return nil }
        var parts = tm()
        let fields = text.split(whereSeparator: { "- :,".contains($0) }).compactMap { Int($0) }
        guard fields.count == 7 else { return nil }
        parts.tm_year = Int32(fields[0] - 1900)
        parts.tm_mon = Int32(fields[1] - 1)
        parts.tm_mday = Int32(fields[2])
        parts.tm_hour = Int32(fields[3])
        parts.tm_min = Int32(fields[4])
        parts.tm_sec = Int32(fields[5])
        return Date(timeIntervalSince1970: Double(timegm(&parts)) + Double(fields[6]) / 1000)
    }

    /// The `key="value"` fields of a line, values unescaped.
    static func fields(of line: Substring) -> [String: String] {
        var result: [String: String] = [:]
        var rest = line[...]
        while let equals = rest.range(of: "=\"") {
            let keyStart = rest[..<equals.lowerBound].lastIndex(where: { $0 == " " || $0 == ":" }).map { rest.index(after: $0) } ?? rest.startIndex
            let key = String(rest[keyStart..<equals.lowerBound])
            var value = ""
            var index = equals.upperBound
            var escaped = false
            while index < rest.endIndex {
                let character = rest[index]
                if escaped {
                    value.append(character == "n" ? "\n" : character == "r" ? "\r" : character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    break
                } else {
                    value.append(character)
                }
                index = rest.index(after: index)
            }
            result[key] = value
            rest = index < rest.endIndex ? rest[rest.index(after: index)...] : rest[rest.endIndex...]
        }
        return result
    }
}
