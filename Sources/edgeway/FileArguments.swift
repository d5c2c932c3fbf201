import ArgumentParser
import Foundation

/// Files named on the command line, read with an error that names the option and the cause.
enum FileArguments {
    /// The text of a PEM file given as `option` (`--ca`).
    ///
    /// - Throws: ``CommandFailure`` such as `--ca nope.pem: no such file` or `… is not a PEM file`.
    static func pem(_ path: String, option: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw CommandFailure("\(option) \(path): no such file") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandFailure("\(option) \(path): cannot be read as text (permissions, or not a PEM file)")
        }
        guard text.contains("-----BEGIN ") else { throw CommandFailure("\(option) \(path): is not a PEM file (no -----BEGIN line)") }
        return text
    }
}
