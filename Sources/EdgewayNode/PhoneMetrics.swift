import AdminWeb
import Foundation
import NIOConcurrencyHelpers
import Phone
import PhoneLogic
import Prometheus
import Settings
import SIPTransport

/// A phone's side of SPEC B29, for `edgeway phone --metrics`:
///
/// - `edgeway_keepalive_rtt_seconds` — the time for each STUN keepalive's answer (buckets to 3 s);
/// - `edgeway_failover_detect_seconds` — for a keepalive timeout or STUN error, from the last
///   keepalive sent (the one that failed) to the phone calling its edge failed;
/// - `edgeway_failover_reregister_seconds` — from the first edge called failed to the 200 OK
///   through another edge (a second edge failing meanwhile does not restart it);
/// - `edgeway_phone_keepalives_sent_total`, `edgeway_phone_keepalives_answered_total`,
///   `edgeway_phone_failovers_total{reason}`.
public final class PhoneMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let rtt: DurationHistogram
    private let detect: DurationHistogram
    private let reregister: DurationHistogram
    /// Per phone (by user): when it last sent a keepalive, and when it last called an edge failed.
    private let times = NIOLockedValueBox<[String: (sent: ContinuousClock.Instant?, failed: ContinuousClock.Instant?)]>([:])

    public init() {
        let rttBuckets: [Duration] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_000, 3_000].map { .milliseconds($0) }
        let failoverBuckets: [Duration] = [250, 500, 1_000, 2_000, 3_000, 5_000, 10_000, 30_000].map { .milliseconds($0) }
        rtt = registry.makeDurationHistogram(descriptor: Self.descriptor("edgeway_keepalive_rtt_seconds",
                                                                          "Time for a STUN keepalive's answer, as the phone saw it."), buckets: rttBuckets)
        detect = registry.makeDurationHistogram(descriptor: Self.descriptor("edgeway_failover_detect_seconds",
                                                                             "From the keepalive that went unanswered to the phone calling its edge failed."),
                                                buckets: failoverBuckets)
        reregister = registry.makeDurationHistogram(descriptor: Self.descriptor("edgeway_failover_reregister_seconds",
                                                                                 "From the edge called failed to the 200 OK through another edge."),
                                                    buckets: failoverBuckets)
    }

    /// Notes one of `user`'s phone events, seen `at` then.
    public func record(_ event: SoftPhone.Event, user: String, at now: ContinuousClock.Instant = .now) {
        switch event {
        case .keepaliveSent:
            times.withLockedValue { $0[user, default: (nil, nil)].sent = now }
            counter("edgeway_phone_keepalives_sent_total")
        case .registration(.keepaliveAnswered(let milliseconds)):
            rtt.record(.milliseconds(milliseconds))
            counter("edgeway_phone_keepalives_answered_total")
        case .registration(.edgeFailed(_, let reason)):
            let sent = times.withLockedValue { times -> ContinuousClock.Instant? in
                if times[user, default: (nil, nil)].failed == nil { times[user]?.failed = now }
                defer { times[user]?.sent = nil }
                return times[user]?.sent
            }
            if let sent, reason == .keepaliveTimeout || reason == .stunError { detect.record(now - sent) }
            counter("edgeway_phone_failovers_total", reason: Self.label(reason))
        case .registration(.registered):
            let failed = times.withLockedValue { times -> ContinuousClock.Instant? in
                defer { times[user]?.failed = nil }
                return times[user]?.failed
            }
            if let failed { reregister.record(now - failed) }
        default:
            break
        }
    }

    /// A failure's reason as a label of few values (the cause's words stay in the timeline).
    static func label(_ reason: RegistrationMachine.FailureReason) -> String {
        switch reason {
        case .keepaliveTimeout: "keepalive_timeout"
        case .stunError: "stun_error"
        case .registerTimeout: "register_timeout"
        case .connectionClosed: "connection_closed"
        case .connectFailed: "connect_failed"
        case .registerRefused: "register_refused"
        }
    }

    /// The Prometheus text.
    public func text() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    /// Each counter's help, in one place (the registry refuses two different ones for a name).
    private static let help = ["edgeway_phone_keepalives_sent_total": "STUN keepalives the phone sent.",
                               "edgeway_phone_keepalives_answered_total": "STUN keepalives the phone got an answer to.",
                               "edgeway_phone_failovers_total": "Edges the phone called failed, by reason."]
    private let counters = NIOLockedValueBox<[String: Counter]>([:])

    private func counter(_ name: String, reason: String? = nil) {
        let counter = counters.withLockedValue { counters in
            let key = name + (reason ?? "")
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(descriptor: Self.descriptor(name, Self.help[name] ?? name),
                                               labels: reason.map { [("reason", $0)] } ?? [])
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Serves `GET /metrics` (open: a phone has nothing else to guard) on `host:port`.
    public func serve(host: String, port: Int) async throws -> AdminServer {
        try await AdminServer.start(node: Served(metrics: self), host: host, port: port,
                                    token: (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined())
    }

    /// The phone as the admin server sees it: metrics and health only.
    private struct Served: AdministeredNode {
        let metrics: PhoneMetrics
        var identity: String { "phone" }
        var settings: Settings? { nil }
        var commands: [String] { [] }
        var intrusion: IntrusionProtection? { nil }
        var metricsOpen: Bool { true }
        func statusLines(path: [String], user: String?) async -> [(path: String, value: String)] { [] }
        func run(command: String) async throws -> [String] { throw UnknownCommandError(command: command, known: []) }
        func metrics() async -> [UInt8]? { metrics.text() }
    }
}
