/// Finds the blank line that ends a header section, accepting CRLF or bare LF line ends.
enum SIPHeadScanner {
    enum Result: Equatable {
        /// The header section is `headLength` bytes (through the last header's line end); the
        /// body starts at `bodyStart`.
        case found(headLength: Int, bodyStart: Int)
        /// No blank line yet; a later search may resume at `resumeAt`.
        case needMore(resumeAt: Int)
    }

    static func findEnd(in bytes: UnsafeRawBufferPointer, from start: Int) -> Result {
        let count = bytes.count
        var index = start
        while let newline = ByteSearch.firstIndex(of: UInt8(ascii: "\n"), in: bytes, from: index, to: count) {
            index = newline
            if index &+ 1 >= count { return .needMore(resumeAt: index) }
            let next = bytes[index &+ 1]
            if next == UInt8(ascii: "\n") { return .found(headLength: index &+ 1, bodyStart: index &+ 2) }
            if next == UInt8(ascii: "\r") {
                if index &+ 2 >= count { return .needMore(resumeAt: index) }
                if bytes[index &+ 2] == UInt8(ascii: "\n") {
                    return .found(headLength: index &+ 1, bodyStart: index &+ 3)
                }
            }
            index &+= 1
        }
        return .needMore(resumeAt: count)
    }
}
