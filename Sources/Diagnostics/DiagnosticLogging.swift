#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SIPCore
import SIPStack
import SIPTransport

/// A node's message log and diagnostic logging (SPEC B25, B26).
///
/// - The message log: with module `network.sip` at debug, every SIP and STUN message in and out
///   goes to `logs/message.log` in the data folder (rotated like the event log).
/// - A diagnostic log: ``start(id:tcpdump:caps:)`` … ``stop(reason:id:)`` on this node; every
///   module logs at debug meanwhile and the configured levels come back after. It stops by itself
///   at its caps, saying `stopped: size cap reached` or `stopped: time cap reached`.
///
/// With neither on, the transport has no observer: nothing is formatted or allocated per
/// message. With either on, the transport's threads only hand each message over; it is
/// formatted, written and captured on ``DiagnosticsThread``.
public final class DiagnosticLogging: SIPTrafficObserver {
    /// The node's state files and status, as the snapshots need them: file name → text.
    public typealias Snapshot = @Sendable () async -> [String: String]

    /// What a diagnostic log on this node is doing.
    public struct Status: Sendable, Equatable {
        /// The log's identifier (`diagnostic-20261201083000123`).
        public var id: String
        /// Whether it still runs.
        public var running: Bool
        /// Why it stopped (`stopped by the operator`, `stopped: size cap reached (…)`).
        public var stopReason: String?
        /// Whether it captures packets.
        public var tcpdump: Bool
        /// Its folder on this node.
        public var folder: URL
    }

    private struct State {
        var session: DiagnosticSession?
        /// A Start is opening its files: another is refused meanwhile.
        var starting = false
        /// The size cap was reached: one stop is on its way.
        var capped = false
        var last: Status?
        var messageLog: BufferedFile?
        var capTimer: Scheduled<Void>?
    }

    /// The node's name.
    public let node: String
    /// The node's event log.
    public let events: EventLog
    private let data: URL
    private let transport: SIPTransportLayer
    private let snapshot: Snapshot
    private let state = NIOLockedValueBox(State())
    private let queue = NIOLockedValueBox<[(writers: Writers, work: Work)]>([])

    /// Creates the diagnostics of a node whose data folder is `data`.
    public init(node: String, data: URL, events: EventLog, transport: SIPTransportLayer, snapshot: @escaping Snapshot) {
        self.node = node
        self.data = data
        self.events = events
        self.transport = transport
        self.snapshot = snapshot
        if events.configuredLevel(of: "network.sip") <= .debug { setLevel(.debug, of: "network.sip") }
    }

    /// The folder diagnostic logs keep their files in: `DATA/diagnostics`.
    public var folder: URL { data.appendingPathComponent("diagnostics") }

    /// The last diagnostic log on this node, running or not.
    public var status: Status? { state.withLockedValue { $0.last } }

    /// Sets a module's level; `network.sip` at debug turns the message log on, above it off.
    public func setLevel(_ level: Logger.Level, of module: String) {
        events.setLevel(level, of: module)
        guard module == "network.sip" else { return }
        let file = level <= .debug ? try? BufferedFile(data.appendingPathComponent("logs/message.log"), rotateAt: events.configuration.maxFileBytes,
                                                        keep: events.configuration.keptFiles) : nil
        let old = state.withLockedValue { state -> BufferedFile? in
            defer { state.messageLog = file }
            return state.messageLog
        }
        if let old { Task { await old.close() } }
        updateObserver()
    }

    /// Starts a diagnostic log called `id` on this node.
    ///
    /// - Throws: ``DiagnosticsError`` `.refused` while one runs (naming it), `.io` when its
    ///   folder cannot be written.
    public func start(id: String, tcpdump: Bool, caps: DiagnosticCaps = .init()) async throws {
        try state.withLockedValue { state in
            if let running = state.session {
                throw DiagnosticsError(.refused, "a diagnostic log is already running on \(node) (\(running.id), started "
                    + "\(LogLine.stamps(running.started).iso)); stop it first: xcommand DiagnosticLogging Stop")
            }
            guard !state.starting else { throw DiagnosticsError(.refused, "a diagnostic log is starting on \(node)") }
            state.starting = true
        }
        let folder = folder.appendingPathComponent(id).appendingPathComponent(node)
        let session: DiagnosticSession
        do {
            session = try DiagnosticSession(id: id, folder: folder, tcpdump: tcpdump, caps: caps, opened: { [transport] in transport.opened($0) })
        } catch {
            state.withLockedValue { $0.starting = false }
            throw error
        }
        let timer = DiagnosticsThread.loop.scheduleTask(in: .nanoseconds(Int64(caps.maxDuration.components.seconds) * 1_000_000_000
            + caps.maxDuration.components.attoseconds / 1_000_000_000)) { [weak self] in
            _ = Task { _ = try? await self?.stop(reason: "stopped: time cap reached (\(caps.maxDuration))", id: id) }
        }
        state.withLockedValue { state in
            state.starting = false
            state.capped = false
            state.session = session
            state.capTimer = timer
            state.last = Status(id: id, running: true, stopReason: nil, tcpdump: tcpdump, folder: folder)
        }
        events.raise(tee: session.eventLog)
        updateObserver()
        events.logger().info("diagnostic log started", metadata: ["log": "\(id)", "tcpdump": tcpdump ? "on" : "off"])
        for (name, text) in await snapshot() { session.save(text, as: name.replacingOccurrences(of: "NAME", with: "start")) }
    }

    /// Adds a marker to the running log: a line in its message, event and marker logs.
    ///
    /// - Throws: ``DiagnosticsError`` `.refused` when no log runs.
    public func marker(_ text: String) throws {
        guard let session = state.withLockedValue({ $0.session }) else {
            throw DiagnosticsError(.refused, "no diagnostic log is running on \(node): start one with xcommand DiagnosticLogging Start")
        }
        let line = LogLine.head(time: Date(), node: node, module: "diagnostics", level: "INFO") + " " + LogLine.field("Marker", text) + "\n"
        session.messageLog.append(line)
        session.markers.append(line)
        events.logger().info("marker", metadata: ["text": "\(text)"])
    }

    /// Stops the running log (`id`: only that one), saves the closing snapshots and returns its status.
    ///
    /// - Throws: ``DiagnosticsError`` `.refused` when no log (or another) runs.
    @discardableResult
    public func stop(reason: String = "stopped by the operator", id: String? = nil) async throws -> Status {
        guard let session = take(reason: reason, id: id) else {
            throw DiagnosticsError(.refused, "no diagnostic log is running on \(node)" + (id.map { " (\($0) has stopped)" } ?? ""))
        }
        events.logger().info("diagnostic log \(reason)", metadata: ["log": "\(session.id)"])
        events.raise(tee: nil)
        updateObserver()
        for (name, text) in await snapshot() { session.save(text, as: name.replacingOccurrences(of: "NAME", with: "stop")) }
        let dropped = await session.finish()
        session.save("log: \(session.id)\nnode: \(node)\nstarted: \(LogLine.stamps(session.started).iso)\n"
            + "stopped: \(LogLine.stamps(Date()).iso)\nreason: \(reason)\ntcpdump: \(session.capture == nil ? "off" : "on")\n"
            + "bytes lost: \(dropped)\n", as: "session.txt")
        // Lines the disk refused are said, not lost in silence.
        if dropped > 0 { events.logger().warning("diagnostic log lost \(dropped) bytes: a file could not be written", metadata: ["log": "\(session.id)"]) }
        return state.withLockedValue { $0.last! }
    }

    /// The node stops: a running log ends (`stopped: node shut down`) with its files written, and
    /// the message log closes.
    public func shutdown() async {
        let session = take(reason: "stopped: node shut down", id: nil)
        let messageLog = state.withLockedValue { state -> BufferedFile? in
            defer { state.messageLog = nil }
            return state.messageLog
        }
        transport.observe(nil)
        events.raise(tee: nil)
        await messageLog?.close()
        if let session {
            session.save("log: \(session.id)\nnode: \(node)\nstarted: \(LogLine.stamps(session.started).iso)\n"
                + "stopped: \(LogLine.stamps(Date()).iso)\nreason: stopped: node shut down\n", as: "session.txt")
            await session.finish()
        }
        await events.flush()
    }

    /// Takes the running session (`id`: only that one) out of the state, marking it stopped.
    private func take(reason: String, id: String?) -> DiagnosticSession? {
        state.withLockedValue { state -> DiagnosticSession? in
            guard let session = state.session, id == nil || session.id == id else { return nil }
            state.session = nil
            state.capTimer?.cancel()
            state.capTimer = nil
            state.last?.running = false
            state.last?.stopReason = reason
            return session
        }
    }

    private func updateObserver() {
        let on = state.withLockedValue { $0.session != nil || $0.messageLog != nil }
        transport.observe(on ? self : nil)
    }

    // MARK: SIPTrafficObserver

    public func received(_ event: SIPTransportEvent) {
        switch event {
        case .sip(let message, let flow): hand(.message(message, flow, Date()))
        case .stun(let bytes, let flow), .malformed(_, let bytes, let flow): hand(.bytes(bytes, flow, inbound: true, Date()))
        case .flowClosed(let flow, let reason): hand(.closed(flow, reason, Date()))
        case .ping, .pong, .flowOpened: break
        }
    }

    public func sent(_ bytes: ByteBuffer, on flow: Flow) {
        hand(.bytes(bytes, flow, inbound: false, Date()))
    }

    /// One thing to write, as the transport handed it over.
    private enum Work: Sendable {
        /// A SIP message received (serialised on the diagnostics thread, not the event loop).
        case message(SIPMessage, Flow, Date)
        case bytes(ByteBuffer, Flow, inbound: Bool, Date)
        case closed(Flow, String, Date)
    }

    /// Hands work to the diagnostics thread with the files in use now. Work gathers in a queue
    /// and the thread is woken once per batch, not once per message (a wake-up is a system call).
    private func hand(_ work: Work) {
        let writers = state.withLockedValue { Writers(node: node, session: $0.session, messageLog: $0.messageLog) }
        guard writers.session != nil || writers.messageLog != nil else { return }
        let wake = queue.withLockedValue { queue -> Bool in
            queue.append((writers, work))
            return queue.count == 1
        }
        if wake { DiagnosticsThread.loop.execute { [self] in drain() } }
    }

    /// On the diagnostics thread: everything queued, in order.
    private func drain() {
        let batch = queue.withLockedValue { queue in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        for (writers, work) in batch {
            switch work {
            case .message(let message, let flow, let time): writers.record(message.serialized(), on: flow, inbound: true, time: time)
            case .bytes(let bytes, let flow, let inbound, let time): writers.record(bytes, on: flow, inbound: inbound, time: time)
            case .closed(let flow, let reason, let time): writers.closed(flow, reason: reason, time: time)
            }
        }
        guard let session = batch.last?.writers.session, session.size >= session.caps.maxBytes,
              state.withLockedValue({ state in
                  defer { state.capped = true }
                  return !state.capped && state.session === session
              })
        else { return }
        Task { try? await stop(reason: "stopped: size cap reached (\(session.caps.maxBytes) bytes)", id: session.id) }
    }

    /// The files one message goes to; used on the diagnostics thread.
    private struct Writers: Sendable {
        let node: String
        let session: DiagnosticSession?
        let messageLog: BufferedFile?

        func record(_ original: ByteBuffer, on flow: Flow, inbound: Bool, time: Date) {
            // Peers' tokens stay out of logs and captures, which travel in bundles.
            let bytes = !Self.contains(original, ClusterPeers.headerBytes) ? original
                : ClusterPeers.redacted(Array(original.readableBytesView)).map { ByteBuffer(bytes: $0) } ?? original
            let entry = MessageLogEntry.format(bytes, action: inbound ? .received : .sent, flow: flow, node: node, time: time)
            messageLog?.append(entry)
            session?.messageLog.append(entry)
            session?.capture?.record(bytes, on: flow, inbound: inbound, time: time)
        }

        /// Whether `needle` occurs in `buffer` (on raw bytes: this runs for every message logged).
        static func contains(_ buffer: ByteBuffer, _ needle: [UInt8]) -> Bool {
            buffer.withUnsafeReadableBytes { haystack in
                needle.withUnsafeBytes { pattern in
                    guard let first = pattern.first, haystack.count >= pattern.count else { return false }
                    var index = 0
                    while index <= haystack.count - pattern.count {
                        if haystack[index] == first, memcmp(haystack.baseAddress! + index, pattern.baseAddress!, pattern.count) == 0 { return true }
                        index += 1
                    }
                    return false
                }
            }
        }

        func closed(_ flow: Flow, reason: String, time: Date) {
            guard flow.transport != .udp else { return }
            let entry = MessageLogEntry.closed(flow, reason: reason, node: node, time: time)
            messageLog?.append(entry)
            session?.messageLog.append(entry)
            session?.capture?.closed(flow)
        }
    }
}

/// When a diagnostic log stops by itself (`diagnostics:` in the node's YAML).
public struct DiagnosticCaps: Sendable, Equatable {
    /// Bytes of message log and capture together, per node. Default 200 MiB.
    public var maxBytes: Int
    /// How long a log may run. Default 30 minutes.
    public var maxDuration: Duration

    /// Creates caps.
    public init(maxBytes: Int = 200 * 1024 * 1024, maxDuration: Duration = .seconds(1_800)) {
        self.maxBytes = maxBytes
        self.maxDuration = maxDuration
    }
}
