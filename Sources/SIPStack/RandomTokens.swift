import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Random numbers for tags and branches, which RFC 3261 §19.3 wants cryptographically random:
/// read from the kernel's generator 4 KiB at a time instead of with one system call per value.
public enum RandomTokens {
    private static let pool = Mutex<[UInt64]>([])
    private static let poolSize = 512

    /// A random 64-bit value.
    public static func next() -> UInt64 {
        pool.withLock { values in
            if values.isEmpty { values = refill() }
            return values.removeLast()
        }
    }

    private static func refill() -> [UInt64] {
        var values = [UInt64](repeating: 0, count: poolSize)
        #if canImport(Glibc)
        let filled = values.withUnsafeMutableBytes { buffer -> Bool in
            let file = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
            guard file >= 0 else { return false }
            defer { close(file) }
            var offset = 0
            while offset < buffer.count {
                let count = read(file, buffer.baseAddress! + offset, buffer.count - offset)
                guard count > 0 else { return false }
                offset += count
            }
            return true
        }
        if filled { return values }
        #endif
        var generator = SystemRandomNumberGenerator()
        for index in values.indices { values[index] = generator.next() }
        return values
    }
}
