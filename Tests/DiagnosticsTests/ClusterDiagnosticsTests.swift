@testable import Diagnostics
import Foundation
import NIOPosix
import SIPStack
import SIPTransport
import Testing
import TestSupport

/// Diagnostic logging on one node with no peers: the commands' answers and refusals, and a
/// peer's request that would name a folder outside the node's.
@Suite struct ClusterDiagnosticsTests {
    static func node(in folder: URL) throws -> ClusterDiagnostics {
        var configuration = EventLog.Configuration()
        configuration.toStandardError = false
        let events = try EventLog(node: "edge-9", folder: folder, configuration: configuration)
        let transport = SIPTransportLayer(group: MultiThreadedEventLoopGroup.singleton, onEvent: { _ in })
        let logging = DiagnosticLogging(node: "edge-9", data: folder, events: events, transport: transport,
                                        snapshot: { ["xstatus-NAME.txt": "*s Alarms Count: 0\n** end\n"] })
        return ClusterDiagnostics(logging: logging, peers: ClusterPeers())
    }

    @Test func startMarkerStopAndCollectOnALoneNode() async throws {
        let folder = try temporaryFolder("edgeway-cluster")
        defer { try? FileManager.default.removeItem(at: folder) }
        let node = try Self.node(in: folder)
        let started = try await node.run("DiagnosticLogging Start TakeTcpdump: On").joined(separator: "\n")
        #expect(started.contains("*r DiagnosticLoggingStartResult Node edge-9: started"), "\(started)")
        await #expect(throws: DiagnosticsError.self) { try await node.run("DiagnosticLogging Start") }
        _ = try await node.run("DiagnosticLogging Marker Text: \"here\"")
        let stopped = try await node.run("DiagnosticLogging Stop").joined(separator: "\n")
        #expect(stopped.contains("Node edge-9: stopped by the operator"), "\(stopped)")
        // Stopped already (here by the operator; elsewhere, say, at its cap): said again, not refused.
        let again = try await node.run("DiagnosticLogging Stop").joined(separator: "\n")
        #expect(again.contains("Node edge-9: already stopped: stopped by the operator"), "\(again)")
        let collected = try await node.run("DiagnosticLogging Collect").joined(separator: "\n")
        let bundle = try #require(node.bundle)
        #expect(collected.contains("Bundle: \"\(bundle.path)\""))
        let id = try #require(node.logging.status?.id)
        let session = folder.appendingPathComponent("diagnostics/\(id)/edge-9")
        for file in ["message.log", "event.log", "markers.log", "capture.pcap", "xstatus-start.txt", "xstatus-stop.txt", "session.txt"] {
            #expect(FileManager.default.fileExists(atPath: session.appendingPathComponent(file).path), "\(file)")
        }
        let summary = try String(contentsOf: session.appendingPathComponent("session.txt"), encoding: .utf8)
        #expect(summary.contains("reason: stopped by the operator") && summary.contains("bytes lost: 0"), "\(summary)")
        let markers = try String(contentsOf: session.appendingPathComponent("markers.log"), encoding: .utf8)
        #expect(markers.contains("Marker=\"here\""))
        await #expect(throws: DiagnosticsError.self) { try await node.run("DiagnosticLogging Explode") }
    }

    @Test func aPeerRequestNamingAFolderOutsideIsRefused() async throws {
        let folder = try temporaryFolder("edgeway-cluster")
        defer { try? FileManager.default.removeItem(at: folder) }
        let node = try Self.node(in: folder)
        for id in ["../../escape", "diagnostic-2026120108324/", "diagnostic-../../../../x"] {
            let body = try JSONEncoder().encode(RelayRequest(command: .start, id: id, visited: []))
            await #expect(throws: DiagnosticsError.self) { try await node.peerRequest(body) }
        }
        #expect(!FileManager.default.fileExists(atPath: folder.deletingLastPathComponent().appendingPathComponent("escape").path))
        #expect(ClusterDiagnostics.isNodeName("edge-1") && !ClusterDiagnostics.isNodeName("..") && !ClusterDiagnostics.isNodeName("a/b"))
    }
}
