#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Fast byte search over raw memory for the parser's line scanning: the C library's `memchr`
/// (vectorized), or eight bytes at a time (the "has zero byte" technique) where there is none.
enum ByteSearch {
    /// The offset of the first `target` in `bytes[start..<end]`, or `nil`.
    @inline(__always)
    static func firstIndex(of target: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        #if canImport(Glibc) || canImport(Darwin)
        guard start < end, let base = bytes.baseAddress else { return nil }
        guard let found = memchr(base + start, Int32(target), end - start) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
        #else
        return wordwiseFirstIndex(of: target, in: bytes, from: start, to: end)
        #endif
    }

    /// The portable eight-bytes-at-a-time search.
    static func wordwiseFirstIndex(of target: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        var index = start
        let pattern = UInt64(target) &* 0x0101_0101_0101_0101
        while index &+ 8 <= end {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) ^ pattern
            let found = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            if found != 0 { return index &+ (found.trailingZeroBitCount &>> 3) }
            index &+= 8
        }
        while index < end {
            if bytes[index] == target { return index }
            index &+= 1
        }
        return nil
    }

    /// Whether every byte is below 0x80.
    @inline(__always)
    static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        var combined: UInt64 = 0
        while index &+ 8 <= count {
            combined |= bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index &+= 8
        }
        while index < count {
            combined |= UInt64(bytes[index])
            index &+= 1
        }
        return combined & 0x8080_8080_8080_8080 == 0
    }
}
