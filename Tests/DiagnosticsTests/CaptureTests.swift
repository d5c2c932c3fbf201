@testable import Diagnostics
import Foundation
import NIOCore
import SIPCore
import SIPTransport
import STUNCore
import Testing
import TestSupport

/// The decrypted capture (SPEC B25): SIP of a TCP or TLS flow as TCP segments of that
/// connection, STUN as UDP datagrams between the same addresses; read back by the analyser's
/// pcap reader, which refuses what is not a capture or is cut short.
@Suite struct CaptureTests {
    static let phone = Flow(transport: .tls, local: try! SocketAddress(ipAddress: "127.0.0.1", port: 5061),
                            remote: try! SocketAddress(ipAddress: "127.0.0.1", port: 40_123), connectionID: 3)

    static func capture(in folder: URL) async throws -> URL {
        let file = folder.appendingPathComponent("capture.pcap")
        let capture = try PCAPCapture(file, opened: { _ in false })
        let request = ByteBuffer(bytes: STUNMessage(type: .bindingRequest, transactionID: Array(repeating: 1, count: 12)).encode())
        let success = ByteBuffer(bytes: STUNMessage(type: .bindingSuccess, transactionID: Array(repeating: 1, count: 12)).encode())
        // As the node does it: on the diagnostics thread, where the capture's channels live.
        try await DiagnosticsThread.loop.submit {
            let time = Date()
            capture.record(ByteBuffer(string: MessageLogTests.register), on: phone, inbound: true, time: time)
            capture.record(ByteBuffer(string: "\r\n\r\n"), on: phone, inbound: true, time: time)
            capture.record(request, on: phone, inbound: true, time: time)
            capture.record(success, on: phone, inbound: false, time: time)
            capture.record(ByteBuffer(string: MessageLogTests.register.replacingOccurrences(of: "CSeq: 1", with: "CSeq: 2")), on: phone,
                           inbound: true, time: time)
            capture.closed(phone)
        }.get()
        await capture.close()
        return file
    }

    @Test func sipAndStunReadBackInOrderWithTheirAddresses() async throws {
        let folder = try temporaryFolder("edgeway-capture")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try Data(contentsOf: try await Self.capture(in: folder))
        let records = try PCAPReader.traffic(data, node: "edge-1")
        try #require(records.count == 4, "\(records.map(\.payload))")
        #expect(records[0].sip.flatMap { try? $0.cseq().sequence } == 1 && records[0].source == "127.0.0.1:40123")
        #expect(records[0].destination == "127.0.0.1:5061" && records[0].transport == "TCP")
        guard case .stun(.bindingRequest, _) = records[1].payload, case .stun(.bindingSuccess, _) = records[2].payload else {
            Issue.record("STUN request then success: \(records.map(\.payload))")
            return
        }
        #expect(records[1].transport == "UDP" && records[2].source == "127.0.0.1:5061")
        #expect(records[3].sip.flatMap { try? $0.cseq().sequence } == 2, "the stream goes on after the STUN datagrams")
    }

    @Test func aCaptureCutShortOrAFileThatIsNoneIsRefusedSayingWhy() async throws {
        let folder = try temporaryFolder("edgeway-capture")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try Data(contentsOf: try await Self.capture(in: folder))
        #expect(throws: DiagnosticsError.self) { try PCAPReader.traffic(data.prefix(data.count - 10), node: "edge-1") }
        do {
            _ = try PCAPReader.traffic(data.prefix(data.count - 10), node: "edge-1")
        } catch let error as DiagnosticsError {
            #expect(error.code == .badInput && error.detail.contains("capture cut short: record "), "\(error)")
        }
        #expect(throws: DiagnosticsError.self) { try PCAPReader.traffic(Data("REGISTER".utf8), node: "x") }
        #expect(throws: DiagnosticsError.self) { try PCAPReader.traffic(Data([0x0A, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0]), node: "x") }
    }
}
