import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The one thread the diagnostics write files on, so no event loop waits on a disk: writes,
/// renames and the capture's packet building run here, in the order they were asked for.
enum DiagnosticsThread {
    static let loop: EventLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1).next()
}

/// An append-only file written through a buffer: appends gather in memory (under a lock, from
/// any thread) and are written on ``DiagnosticsThread`` when 64 KiB have gathered, every quarter
/// second, and at ``close()``. With `rotateAt`, a file that passes that many bytes is renamed
/// `NAME.1` (older ones `NAME.2` …, at most `keep`) and a new one begun. After ``close()``
/// appends are dropped (and counted); a failed write is counted too.
final class BufferedFile: Sendable {
    private struct State {
        var pending = ByteBuffer()
        var size: Int
        var closed = false
    }

    let url: URL
    private let rotateAt: Int?
    private let keep: Int
    private let state: NIOLockedValueBox<State>
    /// The open file, used on ``DiagnosticsThread`` only.
    private let handle: NIOLoopBoundBox<FileHandle?>
    private let flusher: NIOLockedValueBox<RepeatedTask?>
    /// Bytes dropped: appended after close, or lost to a failed write.
    let dropped = NIOLockedValueBox(0)

    /// Opens (creating, owner-only) `url` for appending.
    ///
    /// - Throws: ``DiagnosticsError`` `.io` when the file cannot be created or opened, naming it.
    init(_ url: URL, rotateAt: Int? = nil, keep: Int = 5) throws {
        self.url = url
        self.rotateAt = rotateAt
        self.keep = keep
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let opened = try Self.open(url)
        let size = Int((try? opened.seekToEnd()) ?? 0)
        state = NIOLockedValueBox(State(size: size))
        handle = .makeBoxSendingValue(opened, as: FileHandle?.self, eventLoop: DiagnosticsThread.loop)
        flusher = NIOLockedValueBox(nil)
        let task = DiagnosticsThread.loop.scheduleRepeatedTask(initialDelay: .milliseconds(250), delay: .milliseconds(250)) { [weak self] _ in
            self?.flush()
        }
        flusher.withLockedValue { $0 = task }
    }

    deinit {
        flusher.withLockedValue { $0 }?.cancel()
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

    /// The bytes appended so far (written or not), since the last rotation.
    var size: Int { state.withLockedValue { $0.size } }

    /// Appends `text` (the caller adds the line break).
    func append(_ text: String) {
        append(ByteBuffer(string: text))
    }

    /// Appends `bytes`.
    func append(_ bytes: ByteBuffer) {
        let count = bytes.readableBytes
        let (full, rotate, closed) = state.withLockedValue { state -> (ByteBuffer?, Bool, Bool) in
            guard !state.closed else { return (nil, false, true) }
            state.pending.writeImmutableBuffer(bytes)
            state.size += count
            var rotate = false
            if let rotateAt, state.size >= rotateAt {
                state.size = 0
                rotate = true
            }
            guard state.pending.readableBytes >= 64 * 1024 || rotate else { return (nil, false, false) }
            defer { state.pending = ByteBuffer() }
            return (state.pending, rotate, false)
        }
        if closed { dropped.withLockedValue { $0 += count } }
        if let full { write(full, thenRotate: rotate) }
    }

    /// Writes what the buffer holds, soon, on the diagnostics thread.
    func flush() {
        let pending = take()
        if pending.readableBytes > 0 { write(pending, thenRotate: false) }
    }

    /// Writes what the buffer holds and returns once it is written.
    func flushed() async {
        let pending = take()
        try? await DiagnosticsThread.loop.submit { [handle, dropped] in Self.write(pending, to: handle.value, dropped: dropped) }.get()
    }

    private func take() -> ByteBuffer {
        state.withLockedValue { state in
            defer { state.pending = ByteBuffer() }
            return state.pending
        }
    }

    /// Writes what the buffer holds and closes the file, after the work already handed to the
    /// diagnostics thread (messages on their way in); later appends are dropped.
    func close() async {
        try? await DiagnosticsThread.loop.submit {}.get()
        flusher.withLockedValue { $0 }?.cancel()
        let pending = state.withLockedValue { state -> ByteBuffer in
            state.closed = true
            defer { state.pending = ByteBuffer() }
            return state.pending
        }
        try? await DiagnosticsThread.loop.submit { [handle, dropped] in
            Self.write(pending, to: handle.value, dropped: dropped)
            try? handle.value?.close()
            handle.value = nil
        }.get()
    }

    private func write(_ bytes: ByteBuffer, thenRotate rotate: Bool) {
        DiagnosticsThread.loop.execute { [self] in
            Self.write(bytes, to: handle.value, dropped: dropped)
            if rotate { self.rotate() }
        }
    }

    private static func write(_ bytes: ByteBuffer, to file: FileHandle?, dropped: NIOLockedValueBox<Int>) {
        guard bytes.readableBytes > 0 else { return }
        do {
            guard let file else { throw DiagnosticsError(.io, "closed") }
            try file.write(contentsOf: Data(bytes.readableBytesView))
        } catch {
            dropped.withLockedValue { $0 += bytes.readableBytes }
        }
    }

    /// On the diagnostics thread: `NAME` → `NAME.1` …, and a new `NAME`.
    private func rotate() {
        try? handle.value?.close()
        let manager = FileManager.default
        let path = url.path
        try? manager.removeItem(atPath: "\(path).\(keep)")
        for index in stride(from: keep - 1, through: 1, by: -1) where manager.fileExists(atPath: "\(path).\(index)") {
            try? manager.moveItem(atPath: "\(path).\(index)", toPath: "\(path).\(index + 1)")
        }
        try? manager.moveItem(atPath: path, toPath: "\(path).1")
        handle.value = try? Self.open(url)
    }
}
