import CoreMetrics
import Foundation
import NIOConcurrencyHelpers
import Prometheus
import SIPTransport

/// A node's Prometheus metrics (SPEC B29), in a registry of its own (a lab runs five nodes in one
/// process). Counted as it happens: the transport's messages, parse errors and refusals
/// (``TransportMetrics``). Read from the node's status at each scrape:
///
/// - `edgeway_registrations` — registrations the node holds or relays (NaN while they cannot be read);
/// - `edgeway_flows{transport}` — an edge's phones' registered connections;
/// - `edgeway_connections{transport}` — open TCP and TLS connections;
/// - `edgeway_stun_keepalives_answered_total`, `edgeway_stun_keepalives_withheld_total{reason}`
///   (`feature_off`, `link_down`, `registrar_unreachable`, `not_registered`) and
///   `edgeway_crlf_pongs_total` — an edge's keepalive answers;
/// - `edgeway_traversal_link_up{peer}` — 1 while a traversal link is up;
/// - `edgeway_registrar_reachable{registrar}` — 1 while a core's registrar answers keepalives;
/// - `edgeway_alarms_active` — alarms raised and not cleared.
final class NodeMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let transport: TransportMetrics
    /// Each status counter's highest value so far, to add only what it grew by.
    private let exported = NIOLockedValueBox<[String: Int]>([:])
    /// The label values each per-name gauge has been given.
    private let named = NIOLockedValueBox<[String: Set<String>]>([:])

    /// Every metric's `# HELP` line (promtool wants one; the registry refuses two different ones).
    static let help = [
        "edgeway_sip_requests_total": "SIP requests by method and direction (in: received, out: sent).",
        "edgeway_sip_responses_total": "SIP responses by status code and direction (in: received, out: sent).",
        "edgeway_sip_parse_errors_total": "SIP messages that could not be read, by parse error code (framing: a stream cut).",
        "edgeway_connections_refused_total": "TCP and TLS connections refused at accept, by reason.",
        "edgeway_registrations": "Registrations the node holds (registrar) or has relayed and still sees (core, edge).",
        "edgeway_connections": "Open TCP and TLS connections by transport.",
        "edgeway_flows": "Phones' registered connections (RFC 5626 flows) an edge holds, by transport.",
        "edgeway_stun_keepalives_answered_total": "Phones' STUN keepalives the edge answered.",
        "edgeway_stun_keepalives_withheld_total": "Phones' STUN keepalives the edge withheld, by reason.",
        "edgeway_crlf_pongs_total": "CRLF keepalive pings the edge answered with a pong (RFC 5626 outbound phones).",
        "edgeway_traversal_link_up": "1 while the traversal link with the peer is up, else 0.",
        "edgeway_registrar_reachable": "1 while the registrar answers the core's STUN keepalives, else 0.",
        "edgeway_alarms_active": "Alarms raised and not cleared.",
    ]

    init() {
        transport = TransportMetrics(factory: HelpfulFactory(registry: registry))
    }

    /// Sets the scrape-time metrics from `lines` (`xstatus` with the registrations counted) and
    /// the transport's `connections`, then writes the whole registry.
    func text(status lines: [(path: String, value: String)], connections: [SIPTransportKind: Int]) -> [UInt8] {
        var values: [String: String] = [:]
        for line in lines { values[line.path] = line.value.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        // A count that cannot be read now (a store down) is not a count: NaN, not the last one.
        gauge("edgeway_registrations", [], values["Registrations Error"] != nil ? "nan" : values["Registrations Count"])
        for transport in ["TLS", "TCP"] { gauge("edgeway_flows", [("transport", transport.lowercased())], values["Flows \(transport)"]) }
        gauge("edgeway_alarms_active", [], values["Alarms Count"])
        for kind in [SIPTransportKind.tcp, .tls] { gauge("edgeway_connections", [("transport", kind.rawValue)], String(connections[kind] ?? 0)) }
        counter("edgeway_stun_keepalives_answered_total", [], values["Keepalive Answered"])
        counter("edgeway_crlf_pongs_total", [], values["Keepalive PingsAnswered"])
        for (reason, path) in [("feature_off", "FeatureOff"), ("link_down", "LinkDown"), ("registrar_unreachable", "RegistrarUnreachable"),
                               ("not_registered", "NotRegistered")] {
            counter("edgeway_stun_keepalives_withheld_total", [("reason", reason)], values["Keepalive Withheld \(path)"])
        }
        // Links and registrars by name; a series whose link or registrar is gone reads 0.
        var links: [String: String] = [:], registrars: [String: String] = [:]
        for index in 1...max(Int(values["Links Count"] ?? "0") ?? 0, 1) {
            guard let peer = values["Links Link \(index) Peer"], peer != "?", peer != "Unknown",
                  let state = values["Links Link \(index) State"] else { continue }
            links[peer] = state == "Up" ? "1" : links[peer] ?? "0"
        }
        for index in 1...max(Int(values["Registrars Count"] ?? "0") ?? 0, 1) {
            guard let name = values["Registrars Registrar \(index) Name"], let state = values["Registrars Registrar \(index) State"] else { continue }
            registrars[name] = state == "Reachable" ? "1" : "0"
        }
        gauges("edgeway_traversal_link_up", label: "peer", links)
        gauges("edgeway_registrar_reachable", label: "registrar", registrars)
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    private func gauge(_ name: String, _ labels: [(String, String)], _ value: String?) {
        guard let value, let number = Double(value) else { return }
        registry.makeGauge(descriptor: Self.descriptor(name), labels: labels).set(number)
    }

    /// `name{label=KEY}` set from `values`; keys seen before and not now read 0 (a link removed).
    private func gauges(_ name: String, label: String, _ values: [String: String]) {
        let all = named.withLockedValue { named -> Set<String> in
            named[name, default: []].formUnion(values.keys)
            return named[name]!
        }
        for key in all { gauge(name, [(label, key)], values[key] ?? "0") }
    }

    /// A counter that follows a status count: it grows by what the count grew past its highest
    /// value so far (two scrapes that overlap cannot count a growth twice).
    private func counter(_ name: String, _ labels: [(String, String)], _ value: String?) {
        guard let value, let number = Int(value) else { return }
        let key = name + labels.map { "|" + $0.1 }.joined()
        let delta = exported.withLockedValue { exported -> Int in
            let last = exported[key, default: 0]
            exported[key] = max(last, number)
            return max(0, number - last)
        }
        let counter = registry.makeCounter(descriptor: Self.descriptor(name), labels: labels)
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }
}

extension NodeMetrics {
    /// `name` with its help text.
    static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name] ?? name)
    }

    /// swift-metrics' factory for the registry, with each metric's help text (swift-prometheus'
    /// own factory has no place for it).
    struct HelpfulFactory: MetricsFactory {
        let registry: PrometheusCollectorRegistry
        private var plain: PrometheusMetricsFactory { PrometheusMetricsFactory(registry: registry) }

        func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
            registry.makeCounter(descriptor: NodeMetrics.descriptor(label), labels: dimensions)
        }

        func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
            plain.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
        }

        func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
            plain.makeTimer(label: label, dimensions: dimensions)
        }

        func destroyCounter(_ handler: any CounterHandler) { plain.destroyCounter(handler) }
        func destroyRecorder(_ handler: any RecorderHandler) { plain.destroyRecorder(handler) }
        func destroyTimer(_ handler: any TimerHandler) { plain.destroyTimer(handler) }
    }
}
