import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore
import SIPCore

/// What a transport layer counts for Prometheus (SPEC B29), through swift-metrics:
///
/// - `edgeway_sip_requests_total{method, direction}` and `edgeway_sip_responses_total{status,
///   direction}`: every SIP message in (`in`) and out (`out`); methods outside RFC 3261 and its
///   extensions count as `other`, uncommon status codes by their class (`4xx`);
/// - `edgeway_sip_parse_errors_total{code}`: messages that do not parse, by ``SIPParseError``
///   code (a stream cut for a framing error without one: `framing`; a datagram that is not SIP,
///   STUN or a keepalive: `garbage`);
/// - `edgeway_connections_refused_total{reason}`: `max_connections`, `per_source`, `blocked`.
///
/// Request counters are made up front (counting one is a dictionary read and an atomic add),
/// response counters when a code is first seen (a lock and a read), the rare ones likewise.
public final class TransportMetrics: Sendable {
    private let factory: any MetricsFactory
    /// Requests by method, made up front: counting one is a dictionary read and an atomic add.
    private let requests: [String: (received: Counter, sent: Counter)]
    /// Responses by status code, made when a code is first seen.
    private let responses = NIOLockedValueBox<[Int: (received: Counter, sent: Counter)]>([:])
    private let others = NIOLockedValueBox<[String: Counter]>([:])

    /// Counts through `factory` (a node's Prometheus registry).
    public init(factory: any MetricsFactory) {
        self.factory = factory
        var requests: [String: (received: Counter, sent: Counter)] = [:]
        for method in Self.methods + ["other"] {
            requests[method] = (Counter(label: "edgeway_sip_requests_total", dimensions: [("method", method), ("direction", "in")], factory: factory),
                                Counter(label: "edgeway_sip_requests_total", dimensions: [("method", method), ("direction", "out")], factory: factory))
        }
        self.requests = requests
    }

    static let methods = ["INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "INFO", "UPDATE", "PRACK", "SUBSCRIBE", "NOTIFY", "REFER",
                          "MESSAGE", "PUBLISH"]

    /// A message received (the transport layer calls it; public for the instruction probe).
    public func received(_ message: SIPMessage) {
        if let method = message.requestLine?.method {
            (requests[method] ?? requests["other"]!).received.increment()
        } else if let status = message.statusLine?.statusCode {
            response(status).received.increment()
        }
    }

    /// Bytes sent: a SIP message is counted by its start line; STUN and keepalives are not SIP.
    public func sent(_ bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { raw in
            guard raw.count >= 12, raw[0] >= UInt8(ascii: "A") else { return }
            if raw.starts(with: "SIP/2.0 ".utf8) {
                let digits = raw[8..<11].map { Int($0) - 48 }
                guard digits.allSatisfy({ (0...9).contains($0) }) else { return }
                response(digits[0] * 100 + digits[1] * 10 + digits[2]).sent.increment()
            } else {
                let method = String(decoding: raw.prefix(12).prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
                (requests[method] ?? requests["other"]!).sent.increment()
            }
        }
    }

    /// A message that could not be read: a parse error's code, or `framing`.
    func parseError(_ code: String) {
        count("edgeway_sip_parse_errors_total", ("code", code))
    }

    /// A connection refused at accept: `max_connections`, `per_source` or `blocked`.
    func refused(_ reason: String) {
        count("edgeway_connections_refused_total", ("reason", reason))
    }

    /// Codes counted as themselves; any other is counted by its class (`4xx`), so a sender of
    /// odd codes cannot make series without end.
    static let statuses: Set<Int> = [100, 180, 181, 183, 200, 202, 401, 403, 404, 407, 408, 420, 423, 430, 480, 481, 482, 483, 486, 487, 488,
                                     489, 491, 500, 503, 504, 513, 600, 603]

    private func response(_ code: Int) -> (received: Counter, sent: Counter) {
        let status = Self.statuses.contains(code) ? code : (100...699).contains(code) ? code / 100 : 0
        return responses.withLockedValue { responses in
            if let pair = responses[status] { return pair }
            let label = status >= 100 ? String(status) : status > 0 ? "\(status)xx" : "other"
            let pair = (Counter(label: "edgeway_sip_responses_total", dimensions: [("status", label), ("direction", "in")], factory: factory),
                        Counter(label: "edgeway_sip_responses_total", dimensions: [("status", label), ("direction", "out")], factory: factory))
            responses[status] = pair
            return pair
        }
    }

    /// The rare counts (errors, refusals): made when first needed.
    private func count(_ name: String, _ label: (String, String)) {
        let counter = others.withLockedValue { others in
            if let counter = others[name + "|" + label.1] { return counter }
            let counter = Counter(label: name, dimensions: [label], factory: factory)
            others[name + "|" + label.1] = counter
            return counter
        }
        counter.increment()
    }
}
