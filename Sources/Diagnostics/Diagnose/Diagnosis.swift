import Foundation

/// `edgeway diagnose BUNDLE|PCAP|LOG` (SPEC B27): what an operator checks by hand — AR_SK offered
/// and granted, refusals and the hop that refused, the keepalive cadence, each failover with its
/// cause and time to re-register — with a verdict per phone and for the cluster.
public enum Diagnosis {
    /// Reads `path` and diagnoses every phone in it (`user`: only that user's).
    ///
    /// - Throws: ``DiagnosticsError`` `.badInput` when `path` is not a bundle, a capture or a
    ///   message log, or is cut short (`edgeway diagnose` exits 2).
    public static func diagnose(_ path: String, user: String? = nil) async throws -> DiagnosisReport {
        analyse(try await EvidenceLoader.load(path), user: user)
    }

    static func analyse(_ evidence: Evidence, user: String?) -> DiagnosisReport {
        let plain = evidence.nodes.count == 1 && evidence.events.isEmpty && !evidence.traffic.contains { $0.transport == "TLS" }
        let end = evidence.traffic.last?.time ?? Date()
        var phones = PhoneTraffic.phones(in: evidence.traffic, plainCapture: plain)
        if let user { phones = phones.filter { $0.belongs(to: user) } }
        let reports = phones.map { PhoneDiagnosis(phone: $0, evidence: evidence, end: end).report() }
        let raised = evidence.events.filter { $0.event.hasPrefix("alarm raised") }
        let alarms = raised.map { "\($0.node): \($0.fields["alarm"].map { $0 + ": " } ?? "")\($0.event.dropFirst("alarm raised: ".count))" }
            + evidence.events.filter { event in
                event.event == "alarm active" && !raised.contains { $0.node == event.node && $0.fields["alarm"] == event.fields["alarm"] }
            }.map { "\($0.node): \($0.fields["alarm"] ?? ""): \($0.fields["description"] ?? "") (active)" }
        var counts: [String: Int] = [:]
        for report in reports { counts[report.state, default: 0] += 1 }
        var verdict = reports.isEmpty ? "no phone registered in \(evidence.nodes.joined(separator: ", "))"
            + (user.map { " for \($0)" } ?? "") : "\(reports.count) phone\(reports.count == 1 ? "" : "s"): "
            + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        if !alarms.isEmpty { verdict += "; \(alarms.count) alarm\(alarms.count == 1 ? "" : "s") raised" }
        if !evidence.missing.isEmpty { verdict += "; missing: " + evidence.missing.keys.sorted().joined(separator: ", ") }
        return DiagnosisReport(phones: reports, cluster: .init(verdict: verdict, nodes: evidence.nodes, missing: evidence.missing, alarms: alarms))
    }
}

extension DiagnosisReport {
    /// The report as an operator reads it.
    public var text: String {
        var lines: [String] = []
        for phone in phones {
            lines.append("phone \(phone.aor)" + ([phone.device, phone.instance].compactMap { $0 }.isEmpty ? ""
                : " (\([phone.device, phone.instance].compactMap { $0 }.joined(separator: ", ")))"))
            lines.append("  verdict: \(phone.verdict)")
            lines.append("  AR_SK: " + (phone.arsk.offered ? "offered, " + (phone.arsk.accepted ? "accepted" : "not accepted: \(phone.arsk.reason ?? "?")")
                : "not offered by the phone"))
            let k = phone.keepalives
            lines.append(k.sent == 0 ? "  keepalives: none seen" : "  keepalives: \(k.sent) sent, \(k.answered) answered" + String(format: " (%.0f%%)", k.answeredShare * 100)
                + (k.intervalSeconds.map { String(format: ", every %.1f s", $0) } ?? "")
                + (k.rttP50Milliseconds.map { String(format: ", RTT p50 %.1f ms", $0) } ?? "")
                + (k.rttP99Milliseconds.map { String(format: " p99 %.1f ms", $0) } ?? "")
                + ", \(k.timeouts) timed out"
                + (k.withheld.isEmpty ? "" : ", withheld: " + k.withheld.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
            for (index, failover) in phone.failovers.enumerated() {
                lines.append("  failover \(index + 1): \(failover.from) → \(failover.to): \(failover.cause)"
                    + (failover.detectedAt.map { " from \($0)" } ?? "")
                    + (failover.reregisteredInSeconds.map { String(format: ", re-registered in %.1f s", $0) } ?? "")
                    + (failover.deferredByCall ? ", deferred until the call ended" : ""))
            }
            for refusal in phone.refusals {
                lines.append("  refused: \(refusal.time) \(refusal.status) \(refusal.reason) from \(refusal.hop) (Call-ID \(refusal.callID))")
            }
            lines += phone.evidence.map { "  evidence: \($0)" }
        }
        lines.append("cluster: \(cluster.verdict)")
        lines += cluster.alarms.map { "  alarm: \($0)" }
        lines += cluster.missing.sorted { $0.key < $1.key }.map { "  missing: \($0.key): \($0.value)" }
        return lines.joined(separator: "\n") + "\n"
    }
}
