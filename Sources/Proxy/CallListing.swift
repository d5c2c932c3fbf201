import Foundation
import SIPStack
import SIPTransport

extension StatusLine {
    /// `Calls Count` and, per call through the node (oldest first), its Call-ID, caller, callee,
    /// legs (`tls 192.0.2.7:50123 → tcp 127.0.0.1:5060`, one pair per pass through the node,
    /// `; ` between) and age in seconds at `now`.
    public static func calls(_ calls: [CallTable.Call], now: Date) -> [StatusLine] {
        var lines = [StatusLine("Calls Count", String(calls.count))]
        for (index, call) in calls.enumerated() {
            let prefix = "Calls Call \(index + 1)"
            lines.append(StatusLine("\(prefix) CallId", "\"\(call.callID)\""))
            lines.append(StatusLine("\(prefix) From", "\"\(call.caller)\""))
            lines.append(StatusLine("\(prefix) To", "\"\(call.callee)\""))
            // Each pass through the node: `incoming → outgoing`.
            let legs = call.legs.map { "\($0.incoming.map(leg) ?? "this node") → \(leg($0.outgoing))" }
            lines.append(StatusLine("\(prefix) Legs", "\"\(legs.joined(separator: "; "))\""))
            lines.append(StatusLine("\(prefix) Age", "\(Int(now.timeIntervalSince(call.established))) s"))
        }
        return lines
    }

    /// `tls 192.0.2.7:50123`.
    private static func leg(_ flow: Flow) -> String {
        "\(flow.transport.rawValue) \(ProxyForwarder.hostPort(flow.remote))"
    }
}
