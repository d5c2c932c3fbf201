import Foundation
import NIOCore
import SIPCore
import STUNCore

/// Reads SIP and STUN out of a pcap file (libpcap format; link types BSD loopback, Ethernet,
/// raw IP and Linux cooked): UDP datagrams one by one, TCP streams reassembled per direction
/// and cut into SIP messages (by Content-Length) and STUN messages (by their length field,
/// RFC 8489 §5). TLS cannot be read: decrypted captures of our own are plain text already.
enum PCAPReader {
    /// Whether `data` starts like a pcap file (either byte order, micro- or nanosecond stamps).
    static func recognises(_ data: Data) -> Bool {
        guard data.count >= 4 else { return false }
        let magic = data.prefix(4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        return [0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1].contains(magic)
    }

    /// The records of a capture, attributed to `node`.
    ///
    /// - Throws: ``DiagnosticsError`` `.badInput` for a pcapng file, an unknown link type, or a
    ///   file cut short (naming the record and the byte).
    static func traffic(_ data: Data, node: String) throws -> [TrafficRecord] {
        if data.prefix(4) == Data([0x0A, 0x0D, 0x0D, 0x0A]) {
            throw DiagnosticsError(.badInput, "\(node): a pcapng file; write it as pcap first: editcap -F pcap IN OUT")
        }
        guard data.count >= 24, recognises(data) else {
            throw DiagnosticsError(.badInput, "\(node): not a pcap capture (no pcap header)")
        }
        var buffer = ByteBuffer(bytes: data)
        let magic = buffer.readInteger(endianness: .little, as: UInt32.self)!
        let endianness: Endianness = (magic == 0xA1B2_C3D4 || magic == 0xA1B2_3C4D) ? .little : .big
        let nanoseconds = magic == 0xA1B2_3C4D || magic == 0x4D3C_B2A1
        buffer.moveReaderIndex(forwardBy: 16)
        let linkType = buffer.readInteger(endianness: endianness, as: UInt32.self)!
        guard [0, 1, 12, 101, 113, 228, 229, 276].contains(linkType) else {
            throw DiagnosticsError(.badInput, "\(node): link type \(linkType) is not one read here (loopback, Ethernet, raw IP, Linux cooked)")
        }
        var streams = TCPStreams(node: node)
        var records: [TrafficRecord] = []
        var number = 0
        while buffer.readableBytes > 0 {
            number += 1
            let offset = buffer.readerIndex
            guard buffer.readableBytes >= 16,
                  let seconds = buffer.readInteger(endianness: endianness, as: UInt32.self),
                  let fraction = buffer.readInteger(endianness: endianness, as: UInt32.self),
                  let included = buffer.readInteger(endianness: endianness, as: UInt32.self),
                  buffer.readInteger(endianness: endianness, as: UInt32.self) != nil else {
                throw DiagnosticsError(.badInput, "\(node): capture cut short: record \(number) at byte \(offset) has no complete header")
            }
            guard var packet = buffer.readSlice(length: Int(included)) else {
                throw DiagnosticsError(.badInput, "\(node): capture cut short: record \(number) at byte \(offset) claims \(included) bytes, "
                    + "\(buffer.readableBytes) remain")
            }
            let time = Date(timeIntervalSince1970: Double(seconds) + Double(fraction) / (nanoseconds ? 1e9 : 1e6))
            guard let ip = LinkLayer.strip(&packet, linkType: linkType, endianness: endianness) else { continue }
            guard let datagram = IPPacket(ip) else { continue }
            switch datagram.payload {
            case .udp(let sourcePort, let destinationPort, let payload):
                let source = "\(datagram.source):\(sourcePort)", destination = "\(datagram.destination):\(destinationPort)"
                if let record = TrafficRecord.datagram(payload, time: time, node: node, source: source, destination: destination) {
                    records.append(record)
                }
            case .tcp(let segment):
                records += streams.add(segment, time: time, source: datagram.source, destination: datagram.destination)
            }
        }
        return records
    }
}

extension TrafficRecord {
    /// A UDP payload as a record: STUN by its magic cookie, else SIP when it parses.
    static func datagram(_ payload: ByteBuffer, time: Date, node: String, source: String, destination: String) -> TrafficRecord? {
        if let stun = stun(payload) {
            return TrafficRecord(time: time, node: node, source: source, destination: destination, transport: "UDP", payload: stun)
        }
        guard let message = try? SIPParser.parseDatagram(payload) else { return nil }
        return TrafficRecord(time: time, node: node, source: source, destination: destination, transport: "UDP", payload: .sip(message))
    }

    /// A STUN message's class and transaction ID, if `bytes` is one.
    static func stun(_ bytes: ByteBuffer) -> Payload? {
        guard bytes.readableBytes >= 20, bytes.getInteger(at: bytes.readerIndex + 4, as: UInt32.self) == 0x2112_A442,
              let message = try? STUNMessage.decode(Array(bytes.readableBytesView)) else { return nil }
        return .stun(message.type, transactionID: message.transactionID.map { String(format: "%02x", $0) }.joined())
    }
}
