import CFuzzDriver
import NIOCore
import SIPCore
import SIPTransport

/// libFuzzer entry for the stream frame decoder (SPEC B10): SIP, STUN and CRLF keepalives mixed
/// on one TCP or TLS stream. The first input byte picks the keepalive role and how the rest is cut
/// into reads; the frames must be the same whether the bytes come in one read or in pieces, and
/// a framing error must come at the same frame either way. Nothing may crash.
@_cdecl("FuzzStreamDecoder_main")
public func fuzzStreamDecoderMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    edgeway_run_fuzzer(argc, argv, fuzzStreamDecoder)
}

/// One fuzzing input; also exported under libFuzzer's own name.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStreamDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let control = data[0]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let role: SIPStreamFrameDecoder.KeepaliveRole = control & 1 == 0 ? .server : .client
    // Reads of 1 to 32 bytes, as a slow or fragmenting network would deliver them.
    let piece = Int(control >> 3) + 1
    let whole = decode(bytes, role: role, pieces: bytes.count)
    let cut = decode(bytes, role: role, pieces: piece)
    guard whole.frames == cut.frames, whole.failed == cut.failed else {
        fatalError("frames depend on how the bytes were read: \(whole.frames.count) in one read, \(cut.frames.count) in reads of \(piece)")
    }
    return 0
}

/// The frames of `bytes` read `pieces` bytes at a time, and whether framing failed; a failure's
/// answer (RFC 3261 §18.3) is worked out too, as the server would.
private func decode(_ bytes: [UInt8], role: SIPStreamFrameDecoder.KeepaliveRole, pieces: Int) -> (frames: [SIPStreamFrame], failed: Bool) {
    var decoder = SIPStreamFrameDecoder(role: role)
    var buffer = ByteBuffer()
    var frames: [SIPStreamFrame] = []
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + max(pieces, 1), bytes.count)
        buffer.writeBytes(bytes[offset..<end])
        offset = end
        do {
            while let frame = try decoder.nextFrame(&buffer) {
                if case .sip(let message) = frame { _ = try? message.validate() }
                frames.append(frame)
            }
        } catch {
            _ = error.answer
            return (frames, true)
        }
    }
    return (frames, false)
}
