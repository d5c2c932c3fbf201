import Foundation
import NIOCore

/// A pcap record of one UDP datagram, in the link type `NIOWritePCAPHandler` writes (BSD
/// loopback: a 4-byte address family, then the IPv4 or IPv6 packet; RFC 768 header with no
/// checksum). swift-nio-extras writes TCP only.
enum UDPRecord {
    /// Appends the record of `payload` from `source` to `destination` at `time`.
    static func write(_ payload: ByteBuffer, from source: SocketAddress, to destination: SocketAddress, time: Date,
                      into buffer: inout ByteBuffer) {
        let udpLength = 8 + payload.readableBytes
        let seconds = time.timeIntervalSince1970
        buffer.writeInteger(UInt32(seconds), endianness: .host)
        buffer.writeInteger(UInt32((seconds - seconds.rounded(.down)) * 1_000_000), endianness: .host)
        switch (source, destination) {
        case (.v6(let from), .v6(let to)):
            let length = 4 + 40 + udpLength
            buffer.writeInteger(UInt32(length), endianness: .host)
            buffer.writeInteger(UInt32(length), endianness: .host)
            buffer.writeInteger(UInt32(24), endianness: .host)
            buffer.writeInteger(UInt32(6 << 28))
            buffer.writeInteger(UInt16(udpLength))
            buffer.writeInteger(UInt8(17))
            buffer.writeInteger(UInt8(255))
            withUnsafeBytes(of: from.address.sin6_addr) { _ = buffer.writeBytes($0) }
            withUnsafeBytes(of: to.address.sin6_addr) { _ = buffer.writeBytes($0) }
        default:
            let length = 4 + 20 + udpLength
            buffer.writeInteger(UInt32(length), endianness: .host)
            buffer.writeInteger(UInt32(length), endianness: .host)
            buffer.writeInteger(UInt32(2), endianness: .host)
            var header = ByteBuffer()
            header.writeInteger(UInt8(0x45))
            header.writeInteger(UInt8(0))
            header.writeInteger(UInt16(20 + udpLength))
            header.writeInteger(UInt16(0))
            header.writeInteger(UInt16(0x4000))
            header.writeInteger(UInt8(64))
            header.writeInteger(UInt8(17))
            header.writeInteger(UInt16(0))
            header.writeInteger(ipv4(source), endianness: .big)
            header.writeInteger(ipv4(destination), endianness: .big)
            header.setInteger(checksum(header), at: 10)
            buffer.writeBuffer(&header)
        }
        buffer.writeInteger(UInt16(source.port ?? 0))
        buffer.writeInteger(UInt16(destination.port ?? 0))
        buffer.writeInteger(UInt16(udpLength))
        buffer.writeInteger(UInt16(0))
        buffer.writeImmutableBuffer(payload)
    }

    /// The IPv4 address in host order (0 for anything else).
    private static func ipv4(_ address: SocketAddress) -> UInt32 {
        guard case .v4(let v4) = address else { return 0 }
        return UInt32(bigEndian: v4.address.sin_addr.s_addr)
    }

    /// The IPv4 header checksum (RFC 791).
    private static func checksum(_ header: ByteBuffer) -> UInt16 {
        var sum: UInt32 = 0
        var copy = header
        while let word = copy.readInteger(as: UInt16.self) { sum += UInt32(word) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }
}
