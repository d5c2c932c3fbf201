/// A transport address carried in MAPPED-ADDRESS or XOR-MAPPED-ADDRESS (RFC 8489 §14.1, §14.2).
public struct STUNAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address bytes: 4 for IPv4, 16 for IPv6, in network order.
    public var address: [UInt8]
    /// The port.
    public var port: UInt16

    /// Creates an address from 4 or 16 bytes.
    public init(address: [UInt8], port: UInt16) {
        precondition(address.count == 4 || address.count == 16, "an IP address has 4 or 16 bytes")
        self.address = address
        self.port = port
    }

    /// Whether this is an IPv6 address.
    public var isIPv6: Bool { address.count == 16 }

    /// The address in its usual text form (`192.0.2.1`, `2001:db8::1`), without the port.
    public var host: String {
        if !isIPv6 { return address.map(String.init).joined(separator: ".") }
        var groups: [UInt16] = []
        for index in stride(from: 0, to: 16, by: 2) { groups.append(UInt16(address[index]) << 8 | UInt16(address[index + 1])) }
        // RFC 5952: compress the longest run (two or more) of zero groups.
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength, index - runStart >= 2 { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        func hex(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var description: String {
        isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
