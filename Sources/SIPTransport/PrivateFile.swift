import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files only their owner may read (SPEC B28): private keys, admin tokens.
public enum PrivateFile {
    /// Writes `text` to `url` with mode 0600 from the start: the bytes go to a new file created
    /// 0600 next to it, which then replaces `url` (so no moment exists when others may read it).
    ///
    /// - Throws: ``SIPTransportError`` naming the file and the system's reason.
    public static func write(_ text: String, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UInt32.random(in: 0...UInt32.max))")
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure(url, "cannot create") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == bytes.count, rename(temporary.path, url.path) == 0 else {
            unlink(temporary.path)
            throw failure(url, "cannot write")
        }
    }

    private static func failure(_ url: URL, _ what: String) -> SIPTransportError {
        SIPTransportError(detail: "\(what) \(url.path): \(String(cString: strerror(errno)))")
    }
}
