import NIOCore

/// Canonical serialization: `Name: value` lines in order, CRLF line ends, the body as is.
/// `SIPParser.parse(message.serialized())` gives back an equal message.
extension SIPMessage {
    /// Appends the wire form of the message to `buffer` in a single write.
    public func write(to buffer: inout ByteBuffer) {
        var parts = startLineParts
        var size = parts.0.utf8.count + parts.1.utf8.count + parts.2.utf8.count + 6 + body.readableBytes
        headers.forEachField { name, value in size += name.count + value.count + 4 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { output in
            var cursor = 0
            func put(_ bytes: UnsafeRawBufferPointer) {
                guard let source = bytes.baseAddress, bytes.count > 0 else { return }
                (output.baseAddress! + cursor).copyMemory(from: source, byteCount: bytes.count)
                cursor += bytes.count
            }
            func put(_ first: UInt8, _ second: UInt8) {
                output[cursor] = first
                output[cursor + 1] = second
                cursor += 2
            }
            parts.0.withUTF8 { put(UnsafeRawBufferPointer($0)) }
            output[cursor] = UInt8(ascii: " ")
            cursor += 1
            parts.1.withUTF8 { put(UnsafeRawBufferPointer($0)) }
            output[cursor] = UInt8(ascii: " ")
            cursor += 1
            parts.2.withUTF8 { put(UnsafeRawBufferPointer($0)) }
            put(0x0D, 0x0A)
            headers.forEachField { name, value in
                put(name)
                put(UInt8(ascii: ":"), UInt8(ascii: " "))
                put(value)
                put(0x0D, 0x0A)
            }
            put(0x0D, 0x0A)
            body.withUnsafeReadableBytes { put($0) }
            return cursor
        }
    }

    /// The three parts of the start line, written with single spaces between them.
    private var startLineParts: (Substring, Substring, Substring) {
        switch startLine {
        case .request(let line): (Substring(line.method), line.uri, line.version)
        case .response(let line): (line.version, Substring(String(line.statusCode)), line.reasonPhrase)
        }
    }

    /// The wire form of the message in a new buffer.
    public func serialized() -> ByteBuffer {
        var buffer = ByteBuffer()
        write(to: &buffer)
        return buffer
    }

    /// The wire form as text (bodies that are not UTF-8 are shown with replacement characters).
    public var text: String {
        String(buffer: serialized())
    }
}
