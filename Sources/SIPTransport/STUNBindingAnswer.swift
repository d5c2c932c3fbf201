import NIOCore
import STUNCore

/// How a server answers a STUN Binding request on one of its flows (RFC 8489 §6.3): a success with
/// the flow's remote address in XOR-MAPPED-ADDRESS, or 420 listing unknown comprehension-required
/// attributes.
public enum STUNBindingAnswer {
    /// The answer to `bytes`, or `nil` when they are not a readable Binding request.
    public static func answer(to bytes: ByteBuffer, from flow: Flow) -> ByteBuffer? {
        guard let request = try? STUNMessage.decode(Array(bytes.readableBytesView)), request.type == .bindingRequest else {
            return nil
        }
        let unknown = request.unknownComprehensionRequired
        if !unknown.isEmpty {
            let error = STUNMessage.errorResponse(for: request, code: 420, reason: "Unknown Attribute", unknownAttributes: unknown)
            return ByteBuffer(bytes: error.encode())
        }
        guard let mapped = STUNAddress(flow.remote) else { return nil }
        return ByteBuffer(bytes: STUNMessage.bindingSuccess(for: request, mappedAddress: mapped).encode())
    }
}

extension STUNAddress {
    /// The address of a NIO socket address, if it is IPv4 or IPv6.
    public init?(_ address: SocketAddress) {
        guard let port = address.port else { return nil }
        switch address {
        case .v4(let v4):
            let raw = UInt32(bigEndian: v4.address.sin_addr.s_addr)
            self.init(address: [UInt8(raw >> 24), UInt8(raw >> 16 & 0xFF), UInt8(raw >> 8 & 0xFF), UInt8(raw & 0xFF)],
                      port: UInt16(port))
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            self.init(address: bytes, port: UInt16(port))
        case .unixDomainSocket:
            return nil
        }
    }
}
