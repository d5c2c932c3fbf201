import Foundation
import NIOConcurrencyHelpers

/// An append-only text file written through a buffer: lines are gathered in memory and written
/// when 64 KiB have gathered, at ``flush()``, or by the owner's periodic flush. With
/// `rotateAt`, a file that passes that many bytes is renamed `NAME.1` (older ones `NAME.2` …,
/// at most `keep`) and a new one begun.
final class BufferedFile: Sendable {
    private struct State {
        var handle: FileHandle?
        var pending = Data()
        var size: Int
        var failed: String?
    }

    let url: URL
    private let rotateAt: Int?
    private let keep: Int
    private let state: NIOLockedValueBox<State>

    /// Opens (creating) `url` for appending.
    ///
    /// - Throws: when the file cannot be created or opened, naming it.
    init(_ url: URL, rotateAt: Int? = nil, keep: Int = 5) throws {
        self.url = url
        self.rotateAt = rotateAt
        self.keep = keep
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let handle = try Self.open(url)
        state = NIOLockedValueBox(State(handle: handle, size: Int((try? handle.seekToEnd()) ?? 0)))
    }

    private static func open(_ url: URL) throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw DiagnosticsError(.io, "cannot create \(url.path)")
            }
        }
        do {
            let handle = try FileHandle(forWritingTo: url)
            _ = try handle.seekToEnd()
            return handle
        } catch {
            throw DiagnosticsError(.io, "cannot open \(url.path): \(error.localizedDescription)")
        }
    }

    /// The bytes written so far (including those still in the buffer), since the last rotation.
    var size: Int { state.withLockedValue { $0.size } }

    /// Appends `text` (the caller adds the line break).
    func append(_ text: String) {
        state.withLockedValue { state in
            state.pending.append(contentsOf: text.utf8)
            state.size += text.utf8.count
            if state.pending.count >= 64 * 1024 { write(&state) }
            if let rotateAt, state.size >= rotateAt { rotate(&state) }
        }
    }

    /// Writes what the buffer holds.
    func flush() {
        state.withLockedValue { write(&$0) }
    }

    /// Writes what the buffer holds and closes the file.
    func close() {
        state.withLockedValue { state in
            write(&state)
            try? state.handle?.close()
            state.handle = nil
        }
    }

    private func write(_ state: inout State) {
        guard !state.pending.isEmpty, let handle = state.handle else { return }
        do {
            try handle.write(contentsOf: state.pending)
        } catch {
            state.failed = "\(error)"
        }
        state.pending.removeAll(keepingCapacity: true)
    }

    private func rotate(_ state: inout State) {
        write(&state)
        try? state.handle?.close()
        let manager = FileManager.default
        let path = url.path
        try? manager.removeItem(atPath: "\(path).\(keep)")
        for index in stride(from: keep - 1, through: 1, by: -1) where manager.fileExists(atPath: "\(path).\(index)") {
            try? manager.moveItem(atPath: "\(path).\(index)", toPath: "\(path).\(index + 1)")
        }
        try? manager.moveItem(atPath: path, toPath: "\(path).1")
        state.handle = try? Self.open(url)
        state.size = 0
    }
}
