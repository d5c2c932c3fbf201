import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore
import SIPCore

/// What a transport layer counts for Prometheus (SPEC B29), through swift-metrics:
///
/// - `edgeway_sip_requests_total{method, direction}` and `edgeway_sip_responses_total{status,
///   direction}`: every SIP message in (`in`) and out (`out`); methods outside RFC 3261 and its
///   extensions count as `other`;
/// - `edgeway_sip_parse_errors_total{code}`: datagrams that do not parse (by ``SIPParseError``
///   code) and streams cut for a framing error (`framing`);
/// - `edgeway_connections_refused_total{reason}`: `max_connections`, `per_source`, `blocked`.
///
/// Each counter is made once per label set and kept; counting costs a lock, a lookup and an
/// atomic add.
public final class TransportMetrics: Sendable {
    private let factory: any MetricsFactory
    private let counters = NIOLockedValueBox<[String: Counter]>([:])

    /// Counts through `factory` (a node's Prometheus registry).
    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    static let methods: Set<String> = ["INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "UPDATE", "PRACK", "SUBSCRIBE",
                                       "NOTIFY", "REFER", "MESSAGE", "PUBLISH"]

    /// A message received.
    func received(_ message: SIPMessage) {
        if let method = message.requestLine?.method {
            count("edgeway_sip_requests_total", [("method", Self.methods.contains(method) ? method : "other"), ("direction", "in")])
        } else if let status = message.statusLine?.statusCode {
            count("edgeway_sip_responses_total", [("status", String(status)), ("direction", "in")])
        }
    }

    /// Bytes sent: a SIP message is counted by its start line; STUN and keepalives are not SIP.
    func sent(_ bytes: ByteBuffer) {
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self), first >= UInt8(ascii: "A") else { return }
        let head = bytes.getString(at: bytes.readerIndex, length: min(bytes.readableBytes, 16)) ?? ""
        if head.hasPrefix("SIP/2.0 ") {
            count("edgeway_sip_responses_total", [("status", String(head.dropFirst(8).prefix(3))), ("direction", "out")])
        } else {
            let method = String(head.prefix { $0 != " " })
            count("edgeway_sip_requests_total", [("method", Self.methods.contains(method) ? method : "other"), ("direction", "out")])
        }
    }

    /// A message that could not be read: a parse error's code, or `framing`.
    func parseError(_ code: String) {
        count("edgeway_sip_parse_errors_total", [("code", code)])
    }

    /// A connection refused at accept: `max_connections`, `per_source` or `blocked`.
    func refused(_ reason: String) {
        count("edgeway_connections_refused_total", [("reason", reason)])
    }

    private func count(_ name: String, _ labels: [(String, String)]) {
        let key = name + labels.map { "|" + $0.1 }.joined()
        let counter = counters.withLockedValue { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: name, dimensions: labels, factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }
}
