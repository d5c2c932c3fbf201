import Foundation
import Logging
import NIOConcurrencyHelpers
import Synchronization

/// A node's event log (issue 14, SPEC B29): every event its loggers write at or above the level
/// of their module, to standard error and to `logs/event.log` in the data folder (rotated at
/// ``Configuration/maxFileBytes``), as text lines in the Expressway event-log shape or as JSON
/// lines. While a diagnostic log runs, every module logs at debug level and each line also goes
/// to the diagnostic log's own file.
public final class EventLog: Sendable {
    /// The form of the lines.
    public enum Format: String, Sendable, CaseIterable {
        /// `2026-12-01T08:30:00.123Z edge-1 edgeway: UTCTime="…" Module="events" Level="INFO": Event="traversal link up" link="1"`.
        case text
        /// One JSON object per line: `time`, `node`, `module`, `level`, `event` and the metadata.
        case json
    }

    /// How the log is kept; every property has a documented default.
    public struct Configuration: Sendable, Equatable {
        /// Text or JSON lines. Default text.
        public var format: Format = .text
        /// Also write each line to standard error. Default true.
        public var toStandardError = true
        /// Size at which `event.log` is rotated, in bytes. Default 10 MiB.
        public var maxFileBytes = 10 * 1024 * 1024
        /// Rotated files kept (`event.log.1` …). Default 5.
        public var keptFiles = 5
        /// Level per module (`events`, `network.sip`); a module not named logs at info.
        public var levels: [String: Logger.Level] = [:]

        /// Creates the default configuration.
        public init() {}
    }

    /// The modules a node logs under: `events` (the roles, the transport, the stack) and
    /// `network.sip` (the message log; at debug, every SIP message in and out is logged).
    public static let modules = ["events", "network.sip"]

    /// Each module's level and whether a diagnostic log raised them, read on every log call:
    /// atomics, so asking costs a load (STYLE: a level check is a branch).
    private let eventsLevel: Synchronization.Atomic<UInt8>
    private let networkSIPLevel: Synchronization.Atomic<UInt8>
    private let raised = Synchronization.Atomic<Bool>(false)
    /// The running diagnostic log's event file (a file, not a closure: a closure read back out of
    /// a generic box is wrapped in one more reabstraction thunk each time, found as a chain
    /// thousands deep under load).
    private let tee = NIOLockedValueBox<BufferedFile?>(nil)

    /// The node's name, on every line.
    public let node: String
    let configuration: Configuration
    private let file: BufferedFile?

    /// Opens the log of `node`, in `folder/logs/event.log` when a folder is given.
    ///
    /// - Throws: ``DiagnosticsError`` when the file cannot be created.
    public init(node: String, folder: URL?, configuration: Configuration = .init()) throws {
        self.node = node
        self.configuration = configuration
        let file = try folder.map { try BufferedFile($0.appendingPathComponent("logs/event.log"), rotateAt: configuration.maxFileBytes,
                                                      keep: configuration.keptFiles) }
        self.file = file
        eventsLevel = Synchronization.Atomic(Self.code(configuration.levels["events"] ?? .info))
        networkSIPLevel = Synchronization.Atomic(Self.code(configuration.levels["network.sip"] ?? .info))
    }

    private static func code(_ level: Logger.Level) -> UInt8 {
        UInt8(Logger.Level.allCases.firstIndex(of: level) ?? 2)
    }

    private static func level(_ code: UInt8) -> Logger.Level {
        Logger.Level.allCases[Int(code)]
    }


    /// A logger of `module` whose lines carry `node` and go to this log.
    public func logger(module: String = "events") -> Logger {
        var logger = Logger(label: "edgeway.\(module)") { [self] _ in EventLogHandler(log: self, module: module) }
        logger[metadataKey: "node"] = "\(node)"
        return logger
    }

    /// The level `module` logs at now (debug while a diagnostic log runs).
    public func level(of module: String) -> Logger.Level {
        let configured = configuredLevel(of: module)
        return raised.load(ordering: .relaxed) ? min(configured, .debug) : configured
    }

    /// The level configured for `module`, whatever a diagnostic log does (info for a module not
    /// in ``modules``).
    public func configuredLevel(of module: String) -> Logger.Level {
        switch module {
        case "events": Self.level(eventsLevel.load(ordering: .relaxed))
        case "network.sip": Self.level(networkSIPLevel.load(ordering: .relaxed))
        default: .info
        }
    }

    /// Sets the level of `module` (`xconfiguration Logging Module NAME Level: debug`); a module
    /// not in ``modules`` has none to set.
    public func setLevel(_ level: Logger.Level, of module: String) {
        switch module {
        case "events": eventsLevel.store(Self.code(level), ordering: .relaxed)
        case "network.sip": networkSIPLevel.store(Self.code(level), ordering: .relaxed)
        default: break
        }
    }

    /// While a diagnostic log runs: every module at debug, and each line also to `tee`.
    func raise(tee: BufferedFile?) {
        self.tee.withLockedValue { $0 = tee }
        raised.store(tee != nil, ordering: .relaxed)
    }

    /// Writes everything buffered to the file, and returns once it is written.
    public func flush() async {
        await file?.flushed()
    }

    /// Writes one event: `message` with its metadata, as the configured format says.
    public func write(module: String, level: Logger.Level, message: String, metadata: [String: String], time: Date = Date()) {
        var fields = metadata
        fields["node"] = nil
        let line: String
        switch configuration.format {
        case .text:
            line = LogLine.head(time: time, node: node, module: module, level: "\(level)") + " " + LogLine.field("Event", message)
                + fields.keys.sorted().map { " " + LogLine.field($0, fields[$0]!) }.joined() + "\n"
        case .json:
            var object: [String: String] = fields
            object["time"] = LogLine.stamps(time).iso
            object["node"] = node
            object["module"] = module
            object["level"] = "\(level)"
            object["event"] = message
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            line = String(decoding: data, as: UTF8.self) + "\n"
        }
        if configuration.toStandardError { FileHandle.standardError.write(Data(line.utf8)) }
        file?.append(line)
        if raised.load(ordering: .relaxed) { tee.withLockedValue { $0 }?.append(line) }
    }
}

/// The swift-log handler behind ``EventLog/logger(module:)``.
struct EventLogHandler: LogHandler {
    let log: EventLog
    let module: String
    var metadata: Logger.Metadata = [:]

    init(log: EventLog, module: String) {
        self.log = log
        self.module = module
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// A level this logger (a copy made quieter, say) keeps for itself.
    private var own: Logger.Level?

    /// The module's level in the event log, or this logger's own once set: setting it changes
    /// this logger only (``EventLog/setLevel(_:of:)`` changes the module).
    var logLevel: Logger.Level {
        get { own.map { max($0, log.level(of: module)) } ?? log.level(of: module) }
        set { own = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if let error = event.error { merged["error"] = "\(error)" }
        log.write(module: module, level: event.level, message: event.message.description, metadata: merged.mapValues { "\($0)" })
    }
}
