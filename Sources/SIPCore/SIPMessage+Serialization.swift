import NIOCore

/// Canonical serialization: `Name: value` lines in order, CRLF line ends, the body as is.
/// `SIPParser.parse(message.serialized())` gives back an equal message.
extension SIPMessage {
    /// Appends the wire form of the message to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        switch startLine {
        case .request(let line):
            buffer.writeString(line.method)
            buffer.writeStaticString(" ")
            buffer.writeSubstring(line.uri)
            buffer.writeStaticString(" ")
            buffer.writeSubstring(line.version)
        case .response(let line):
            buffer.writeSubstring(line.version)
            buffer.writeStaticString(" ")
            buffer.writeString(String(line.statusCode))
            buffer.writeStaticString(" ")
            buffer.writeSubstring(line.reasonPhrase)
        }
        buffer.writeStaticString("\r\n")
        for field in headers {
            buffer.writeSubstring(field.name.spelling)
            buffer.writeStaticString(": ")
            buffer.writeSubstring(field.value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        var body = body
        buffer.writeBuffer(&body)
    }

    /// The wire form of the message in a new buffer.
    public func serialized() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(512 + body.readableBytes)
        write(to: &buffer)
        return buffer
    }

    /// The wire form as text (bodies that are not UTF-8 are shown with replacement characters).
    public var text: String {
        String(buffer: serialized())
    }
}
