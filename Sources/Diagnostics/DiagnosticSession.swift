import Foundation
import NIOCore
import SIPTransport

/// One diagnostic log on one node (SPEC B25): its folder `diagnostics/ID/NODE` holds
/// `message.log`, `event.log`, `capture.pcap` (with TakeTcpdump), `markers.log`, the
/// `xconfiguration-` and `xstatus-` snapshots at `start` and `stop`, and `session.txt`.
final class DiagnosticSession: Sendable {
    /// When a log stops by itself.
    struct Caps: Sendable, Equatable {
        /// Bytes of message log and capture together. Default 200 MiB.
        var maxBytes = 200 * 1024 * 1024
        /// How long a log may run. Default 30 minutes.
        var maxDuration: Duration = .seconds(1_800)
    }

    let id: String
    let folder: URL
    let started: Date
    let caps: Caps
    let messageLog: BufferedFile
    let eventLog: BufferedFile
    let markers: BufferedFile
    let capture: PCAPCapture?
    /// Writes the files' buffers every quarter second: a node killed mid-log leaves its lines.
    private let flusher: Task<Void, Never>

    init(id: String, folder: URL, tcpdump: Bool, caps: Caps, opened: @escaping @Sendable (Flow) -> Bool) throws {
        self.id = id
        self.folder = folder
        self.caps = caps
        started = Date()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        messageLog = try BufferedFile(folder.appendingPathComponent("message.log"))
        eventLog = try BufferedFile(folder.appendingPathComponent("event.log"))
        markers = try BufferedFile(folder.appendingPathComponent("markers.log"))
        capture = tcpdump ? try PCAPCapture(folder.appendingPathComponent("capture.pcap"), opened: opened) : nil
        flusher = Task { [messageLog, eventLog, markers] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                for file in [messageLog, eventLog, markers] { file.flush() }
            }
        }
    }

    /// Bytes written to the message log and the capture.
    var size: Int { messageLog.size + (capture?.size ?? 0) }

    /// Writes `text` to `NAME` in the folder.
    func save(_ text: String, as name: String) {
        try? text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// Writes the buffers and closes the files.
    func finish() async {
        flusher.cancel()
        messageLog.close()
        eventLog.close()
        markers.close()
        await capture?.close()
    }
}
