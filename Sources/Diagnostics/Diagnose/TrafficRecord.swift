import Foundation
import SIPCore
import STUNCore

/// One message as a log or a capture shows it: when, where it was seen, which way, between
/// which addresses, and what it was. The analyser's input, whatever it read.
struct TrafficRecord: Sendable {
    enum Payload: Sendable {
        case sip(SIPMessage)
        /// A STUN message: its class and transaction ID (hex).
        case stun(STUNMessageType, transactionID: String)
        /// The connection from `source` (the far end) to `destination` (the node) closed.
        case closed(reason: String)
    }

    /// When it was seen.
    var time: Date
    /// The node whose log or capture holds it (`edge-1`; a plain capture: its file name).
    var node: String
    /// `ip:port` of the sender and of the receiver.
    var source: String
    var destination: String
    /// `TLS`, `TCP` or `UDP` as logged (a capture says `TCP` for TLS).
    var transport: String
    var payload: Payload
    /// Whether the node logged it as received (a capture: `false`, it cannot tell).
    var receivedByNode = false

    /// The SIP message, if it is one.
    var sip: SIPMessage? {
        if case .sip(let message) = payload { return message }
        return nil
    }
}

/// An event from an event log: a keepalive withheld, an alarm, a registration's outcome.
struct EventRecord: Sendable {
    var time: Date
    var node: String
    var level: String
    var event: String
    var fields: [String: String]
}

/// Everything read from one input.
struct Evidence: Sendable {
    var traffic: [TrafficRecord] = []
    var events: [EventRecord] = []
    /// Nodes a bundle's `cluster.txt` names as missing, with the cause.
    var missing: [String: String] = [:]
    /// Nodes whose files were read.
    var nodes: [String] = []
}
