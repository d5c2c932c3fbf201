import Foundation
import SIPCore
import NIOCore

/// The link-layer header of a captured packet, removed.
enum LinkLayer {
    /// The IP packet inside, or `nil` for other traffic (ARP, a cut-short frame).
    static func strip(_ packet: inout ByteBuffer, linkType: UInt32, endianness: Endianness) -> ByteBuffer? {
        switch linkType {
        case 0:  // BSD loopback: the address family in the writer's byte order
            guard packet.readInteger(as: UInt32.self) != nil else { return nil }
        case 1:  // Ethernet, maybe one VLAN tag
            guard packet.readSlice(length: 12) != nil, var type = packet.readInteger(as: UInt16.self) else { return nil }
            if type == 0x8100 {
                guard packet.readInteger(as: UInt16.self) != nil, let inner = packet.readInteger(as: UInt16.self) else { return nil }
                type = inner
            }
            guard type == 0x0800 || type == 0x86DD else { return nil }
        case 113:  // Linux cooked v1
            guard packet.readSlice(length: 16) != nil else { return nil }
        case 276:  // Linux cooked v2
            guard packet.readSlice(length: 20) != nil else { return nil }
        default:  // raw IP (12, 101, 228, 229)
            break
        }
        return packet
    }
}

/// An IPv4 or IPv6 packet carrying UDP or TCP.
struct IPPacket {
    enum Payload {
        case udp(sourcePort: Int, destinationPort: Int, ByteBuffer)
        case tcp(TCPSegment)
    }

    var source: String
    var destination: String
    var payload: Payload

    init?(_ packet: ByteBuffer) {
        var packet = packet
        guard let first = packet.getInteger(at: packet.readerIndex, as: UInt8.self) else { return nil }
        let protocolNumber: UInt8
        switch first >> 4 {
        case 4:
            let headerLength = Int(first & 0x0F) * 4
            guard let total = packet.getInteger(at: packet.readerIndex + 2, as: UInt16.self),
                  let number = packet.getInteger(at: packet.readerIndex + 9, as: UInt8.self),
                  let from = packet.getBytes(at: packet.readerIndex + 12, length: 4), let to = packet.getBytes(at: packet.readerIndex + 16, length: 4),
                  let body = packet.getSlice(at: packet.readerIndex + headerLength, length: min(Int(total), packet.readableBytes) - headerLength)
            else { return nil }
            protocolNumber = number
            source = from.map(String.init).joined(separator: ".")
            destination = to.map(String.init).joined(separator: ".")
            packet = body
        case 6:
            guard let length = packet.getInteger(at: packet.readerIndex + 4, as: UInt16.self),
                  let number = packet.getInteger(at: packet.readerIndex + 6, as: UInt8.self),
                  let from = packet.getBytes(at: packet.readerIndex + 8, length: 16), let to = packet.getBytes(at: packet.readerIndex + 24, length: 16),
                  let body = packet.getSlice(at: packet.readerIndex + 40, length: min(Int(length), packet.readableBytes - 40))
            else { return nil }
            protocolNumber = number
            source = "[\(Self.ipv6(from))]"
            destination = "[\(Self.ipv6(to))]"
            packet = body
        default:
            return nil
        }
        switch protocolNumber {
        case 17:
            guard let sourcePort = packet.readInteger(as: UInt16.self), let destinationPort = packet.readInteger(as: UInt16.self),
                  packet.readSlice(length: 4) != nil else { return nil }
            payload = .udp(sourcePort: Int(sourcePort), destinationPort: Int(destinationPort), packet)
        case 6:
            guard let segment = TCPSegment(packet) else { return nil }
            payload = .tcp(segment)
        default:
            return nil
        }
    }

    private static func ipv6(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}

/// A TCP segment: ports, sequence number, flags and payload.
struct TCPSegment {
    var sourcePort: Int
    var destinationPort: Int
    var sequence: UInt32
    var syn: Bool
    var payload: ByteBuffer

    init?(_ packet: ByteBuffer) {
        var packet = packet
        guard let sourcePort = packet.readInteger(as: UInt16.self), let destinationPort = packet.readInteger(as: UInt16.self),
              let sequence = packet.readInteger(as: UInt32.self), packet.readInteger(as: UInt32.self) != nil,
              let offsetAndFlags = packet.readInteger(as: UInt16.self) else { return nil }
        let headerLength = Int(offsetAndFlags >> 12) * 4
        guard headerLength >= 20, packet.readSlice(length: headerLength - 14) != nil else { return nil }
        self.sourcePort = Int(sourcePort)
        self.destinationPort = Int(destinationPort)
        self.sequence = sequence
        syn = offsetAndFlags & 0x02 != 0
        payload = packet
    }
}

/// TCP byte streams per direction, cut into SIP and STUN messages as they complete.
struct TCPStreams {
    private struct Stream {
        var next: UInt32?
        var pending = ByteBuffer()
    }

    let node: String
    private var streams: [String: Stream] = [:]

    init(node: String) {
        self.node = node
    }

    /// Adds a segment; returns the messages it completed. A retransmitted part is dropped; a gap
    /// (a lost segment) restarts the stream at the new data.
    mutating func add(_ segment: TCPSegment, time: Date, source: String, destination: String) -> [TrafficRecord] {
        let from = "\(source):\(segment.sourcePort)", to = "\(destination):\(segment.destinationPort)"
        let key = "\(from)>\(to)"
        var stream = streams[key] ?? Stream()
        if segment.syn {
            stream = Stream(next: segment.sequence &+ 1)
            streams[key] = stream
            return []
        }
        var payload = segment.payload
        if let next = stream.next {
            let behind = Int(Int32(bitPattern: next &- segment.sequence))
            if behind >= payload.readableBytes { return [] }
            if behind > 0 { payload.moveReaderIndex(forwardBy: behind) }
            if behind < 0 { stream.pending.clear() }
        }
        stream.next = segment.sequence &+ UInt32(segment.payload.readableBytes)
        stream.pending.writeBuffer(&payload)
        var records: [TrafficRecord] = []
        while let frame = Self.nextFrame(&stream.pending) {
            if let stun = TrafficRecord.stun(frame) {
                records.append(TrafficRecord(time: time, node: node, source: from, destination: to, transport: "TCP", payload: stun))
            } else if let message = try? SIPParser.parseDatagram(frame) {
                records.append(TrafficRecord(time: time, node: node, source: from, destination: to, transport: "TCP", payload: .sip(message)))
            }
        }
        stream.pending.discardReadBytes()
        streams[key] = stream
        return records
    }

    /// Skips past the next CRLF; false when none has arrived yet.
    static func skipLine(_ buffer: inout ByteBuffer) -> Bool {
        guard let end = buffer.readableBytesView.firstRange(of: [0x0D, 0x0A]) else { return false }
        buffer.moveReaderIndex(to: end.upperBound)
        return true
    }

    /// The next complete frame: CRLF keepalives skipped, a STUN message by its length, a SIP
    /// message by its Content-Length (absent: none).
    static func nextFrame(_ buffer: inout ByteBuffer) -> ByteBuffer? {
        while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), byte == 0x0D || byte == 0x0A {
            buffer.moveReaderIndex(forwardBy: 1)
        }
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        if first & 0xC0 == 0 {
            // STUN only with its magic cookie (RFC 8489 §5); anything else is not a frame start:
            // skip to the next line, where a SIP start line may begin (after a lost segment).
            guard buffer.readableBytes >= 8 else { return nil }
            guard buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self) == 0x2112_A442,
                  let length = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt16.self) else {
                return skipLine(&buffer) ? nextFrame(&buffer) : nil
            }
            guard buffer.readableBytes >= 20 + Int(length) else { return nil }
            return buffer.readSlice(length: 20 + Int(length))
        }
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: [0x0D, 0x0A, 0x0D, 0x0A]) else { return nil }
        let headLength = end.upperBound - view.startIndex
        let head = String(decoding: view.prefix(headLength), as: UTF8.self).lowercased()
        var bodyLength = 0
        for line in head.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, ["content-length", "l"].contains(parts[0].trimmingCharacters(in: .whitespaces)) else { continue }
            // RFC 3261 §20.14: a non-negative number; a message claiming more than 64 KiB is
            // not SIP here (the parser's limit): skip its head and look for the next.
            guard let number = Int(parts[1].trimmingCharacters(in: .whitespaces)), (0...65_536).contains(number) else {
                buffer.moveReaderIndex(forwardBy: headLength)
                return nextFrame(&buffer)
            }
            bodyLength = number
        }
        guard buffer.readableBytes >= headLength + bodyLength else { return nil }
        return buffer.readSlice(length: headLength + bodyLength)
    }
}
