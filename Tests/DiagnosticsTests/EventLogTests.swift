@testable import Diagnostics
import Foundation
import Logging
import Testing
import TestSupport

/// The event log: text or JSON lines, levels per module, rotation, and the tee a diagnostic log uses.
@Suite struct EventLogTests {
    static func configuration(_ format: EventLog.Format = .text, maxFileBytes: Int = 1 << 20) -> EventLog.Configuration {
        var configuration = EventLog.Configuration()
        configuration.format = format
        configuration.toStandardError = false
        configuration.maxFileBytes = maxFileBytes
        configuration.keptFiles = 2
        return configuration
    }

    @Test func infoIsKeptDebugOnlyWhenTheModuleSaysSo() async throws {
        let folder = try temporaryFolder("edgeway-events")
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = try EventLog(node: "edge-1", folder: folder, configuration: Self.configuration())
        let logger = log.logger()
        logger.info("traversal link up", metadata: ["peer": "core-1"])
        logger.debug("keepalive withheld: feature off")
        log.setLevel(.debug, of: "events")
        logger.debug("keepalive withheld: registrar unreachable", metadata: ["reason": "registrar unreachable"])
        await log.flush()
        let text = try String(contentsOf: folder.appendingPathComponent("logs/event.log"), encoding: .utf8)
        #expect(text.contains("edge-1 edgeway: UTCTime=\"") && text.contains("Module=\"events\" Level=\"INFO\": Event=\"traversal link up\" peer=\"core-1\""))
        #expect(!text.contains("feature off"))
        #expect(text.contains("Level=\"DEBUG\": Event=\"keepalive withheld: registrar unreachable\""))
    }

    @Test func jsonLinesCarryTheSameFields() async throws {
        let folder = try temporaryFolder("edgeway-events")
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = try EventLog(node: "core-1", folder: folder, configuration: Self.configuration(.json))
        log.logger().warning("registrar unreachable: no answer", metadata: ["registrar": "registrar"])
        await log.flush()
        let line = try String(contentsOf: folder.appendingPathComponent("logs/event.log"), encoding: .utf8).split(separator: "\n")[0]
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["node"] == "core-1" && object["module"] == "events" && object["level"] == "warning")
        #expect(object["event"] == "registrar unreachable: no answer" && object["registrar"] == "registrar")
        #expect(MessageLogReader.events(String(line), node: "x").first?.event == "registrar unreachable: no answer")
    }

    @Test func theFileIsRotatedAndOnlyTheNewestAreKept() async throws {
        let folder = try temporaryFolder("edgeway-events")
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = try EventLog(node: "edge-1", folder: folder, configuration: Self.configuration(maxFileBytes: 64 * 1024))
        for index in 0..<2_000 { log.logger().info("event \(index) with some words to fill the file") }
        await log.flush()
        let logs = folder.appendingPathComponent("logs")
        let names = try FileManager.default.contentsOfDirectory(atPath: logs.path).sorted()
        #expect(names == ["event.log", "event.log.1", "event.log.2"], "\(names)")
        let newest = try String(contentsOf: logs.appendingPathComponent("event.log"), encoding: .utf8)
        #expect(newest.contains("event 1999 "))
        let size = try FileManager.default.attributesOfItem(atPath: logs.appendingPathComponent("event.log.1").path)[.size] as? Int ?? 0
        #expect(size >= 64 * 1024 && size < 80 * 1024, "\(size)")
    }

    @Test func aDiagnosticLogRaisesEveryModuleToDebugAndGetsEachLine() async throws {
        let folder = try temporaryFolder("edgeway-events")
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = try EventLog(node: "edge-1", folder: nil, configuration: Self.configuration())
        let session = try BufferedFile(folder.appendingPathComponent("event.log"))
        log.raise(tee: session)
        #expect(log.level(of: "events") == .debug)
        log.logger().debug("keepalive withheld: not registered")
        log.raise(tee: nil)
        log.logger().debug("not seen")
        #expect(log.level(of: "events") == .info)
        await session.close()
        let lines = try String(contentsOf: folder.appendingPathComponent("event.log"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("keepalive withheld: not registered"), "\(lines)")
    }

    @Test func aQuieterCopyOfALoggerDoesNotChangeTheModule() throws {
        let log = try EventLog(node: "edge-1", folder: nil, configuration: Self.configuration())
        var quiet = log.logger()
        quiet.logLevel = .warning
        #expect(quiet.logLevel == .warning)
        #expect(log.logger().logLevel == .info)
    }
}
