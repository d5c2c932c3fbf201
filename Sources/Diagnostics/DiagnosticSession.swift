import Foundation
import NIOCore
import SIPTransport

/// One diagnostic log on one node (SPEC B25): its folder `diagnostics/ID/NODE` holds
/// `message.log`, `event.log`, `capture.pcap` (with TakeTcpdump), `markers.log`, the
/// `xconfiguration-` and `xstatus-` snapshots at `start` and `stop`, and `session.txt`.
final class DiagnosticSession: Sendable {
    let id: String
    let folder: URL
    let started: Date
    let caps: DiagnosticCaps
    let messageLog: BufferedFile
    let eventLog: BufferedFile
    let markers: BufferedFile
    let capture: PCAPCapture?

    init(id: String, folder: URL, tcpdump: Bool, caps: DiagnosticCaps, opened: @escaping @Sendable (Flow) -> Bool) throws {
        self.id = id
        self.folder = folder
        self.caps = caps
        started = Date()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        messageLog = try BufferedFile(folder.appendingPathComponent("message.log"))
        eventLog = try BufferedFile(folder.appendingPathComponent("event.log"))
        markers = try BufferedFile(folder.appendingPathComponent("markers.log"))
        capture = tcpdump ? try PCAPCapture(folder.appendingPathComponent("capture.pcap"), opened: opened) : nil
    }

    /// Bytes lost so far: appended after a file closed, or refused by the disk.
    var dropped: Int {
        ([messageLog, eventLog, markers] + [capture?.file].compactMap { $0 }).reduce(0) { $0 + $1.dropped.withLockedValue { $0 } }
    }

    /// Bytes written to the message log and the capture.
    var size: Int { messageLog.size + (capture?.size ?? 0) }

    /// Writes `text` to `NAME` in the folder.
    func save(_ text: String, as name: String) {
        try? text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    /// Writes the buffers, closes the files (after what the diagnostics thread still has) and
    /// returns the bytes lost, if any, for `session.txt`.
    @discardableResult
    func finish() async -> Int {
        await messageLog.close()
        await eventLog.close()
        await markers.close()
        await capture?.close()
        return dropped
    }
}
