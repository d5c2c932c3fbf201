import Foundation
import Subprocess
import SystemPackage

/// Bundles are gzip-compressed tar files, made and read by the system's `tar` (GNU tar on
/// Debian), run with swift-subprocess: a well-kept tool over our own archive code.
enum Tar {
    /// Writes `archive` (`.tar.gz`) holding `entries` (paths relative to `folder`).
    ///
    /// - Throws: ``DiagnosticsError`` `.io` with tar's own message.
    static func create(_ archive: URL, from folder: URL, entries: [String]) async throws {
        try await tar(["-czf", archive.path, "-C", folder.path, "--"] + entries, doing: "create \(archive.lastPathComponent)")
    }

    /// Unpacks `archive` into `folder`.
    ///
    /// - Throws: ``DiagnosticsError`` `.badInput` when it is not a gzip-compressed tar or is cut short.
    static func extract(_ archive: URL, into folder: URL) async throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        do {
            try await tar(["-xzf", archive.path, "-C", folder.path, "--no-same-owner", "--no-same-permissions"],
                          doing: "read \(archive.lastPathComponent)")
        } catch let error as DiagnosticsError {
            throw DiagnosticsError(.badInput, error.detail)
        }
    }

    private static func tar(_ arguments: [String], doing what: String) async throws {
        let result: ExecutionResult<Void, DiscardedOutput, StringOutput<UTF8>>
        do {
            result = try await run(.name("tar"), arguments: Arguments(arguments), output: .discarded, error: .string(limit: 16 * 1024))
        } catch {
            throw DiagnosticsError(.io, "cannot \(what): cannot run tar: \(error)")
        }
        guard result.terminationStatus.isSuccess else {
            let message = result.standardError.split(separator: "\n").first.map(String.init) ?? "tar failed"
            throw DiagnosticsError(.io, "cannot \(what): \(message)")
        }
    }
}
