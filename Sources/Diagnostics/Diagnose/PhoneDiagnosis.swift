import Foundation
import SIPCore

/// The verdict on one phone from its traffic and the event logs (SPEC B27).
struct PhoneDiagnosis {
    let phone: PhoneTraffic
    let evidence: Evidence
    /// The last traffic of the evidence: a keepalive asked within 3 s of it is not counted as a
    /// timeout.
    let end: Date

    func report() -> DiagnosisReport.Phone {
        let arsk = arskState()
        let refusals = self.refusals()
        let keepalives = keepaliveSummary()
        let failovers = self.failovers()
        var evidenceLines: [String] = []
        let accepted = phone.attempts.filter { ($0.status ?? 0) / 100 == 2 && !isRemoval($0.message) }
        for attempt in phone.attempts where attempt.status != 401 && attempt.status != 407 {
            let removal = isRemoval(attempt.message)
            evidenceLines.append("\(stamp(attempt.request.time)) REGISTER to \(attempt.edge) (Call-ID \(attempt.callID))"
                + (removal ? " removing its binding" : attempt.offered ? " offering AR_SK" : " without AR_SK") + " → "
                + (attempt.final.map { "\(stamp($0.record.time)) \($0.message.statusLine!.statusCode) \($0.message.statusLine!.reasonPhrase)"
                    + (attempt.granted && !removal ? " with X-cisco-supports-AR_SK" : "") } ?? "no answer"))
        }
        let unregistered = phone.attempts.last.flatMap { last in
            isRemoval(last.message) && (last.status ?? 0) / 100 == 2 ? "; un-registered at \(stamp(last.request.time))" : nil
        } ?? ""
        let state: String, verdict: String
        if accepted.isEmpty {
            state = refusals.isEmpty ? "not registered" : "refused"
            verdict = refusals.last.map { "not registered: \($0.status) \($0.reason) from \($0.hop)"
                + ($0.status == 401 ? " (check the user, password and domain)" : "") } ?? "not registered: no answer to its REGISTER"
        } else if !failovers.isEmpty {
            state = "failed over"
            verdict = "failed over \(failovers.count)×: " + failovers.map { "\($0.from) → \($0.to) after \($0.cause)"
                + ($0.reregisteredInSeconds.map { String(format: "; re-registered in %.1f s", $0) } ?? "")
                + ($0.deferredByCall ? " (deferred until its call ended)" : "") }.joined(separator: "; ")
        } else if arsk.offered && !arsk.accepted {
            state = "no AR_SK"
            verdict = "registered without AR_SK: \(arsk.reason ?? "the 200 OK did not carry X-cisco-supports-AR_SK")"
        } else if !keepalives.withheld.isEmpty {
            state = "keepalives withheld"
            verdict = "keepalives withheld by \(Set(phone.keepalives.map(\.edge)).sorted().joined(separator: ", ")): "
                + keepalives.withheld.map { "\($0.key) (\($0.value))" }.sorted().joined(separator: ", ") + failoverAttempt(after: accepted.last!)
        } else if keepalives.timeouts > 0 {
            state = "keepalive timeouts"
            verdict = "\(keepalives.timeouts) keepalive(s) unanswered through \(accepted.last!.edge), no failover seen"
        } else {
            state = "healthy"
            verdict = "healthy: registered through \(accepted.last!.edge)" + (arsk.accepted ? " with AR_SK" : " (the phone did not offer AR_SK)")
                + (keepalives.sent > 0 ? String(format: "; %d keepalives, %.0f%% answered", keepalives.sent, keepalives.answeredShare * 100)
                    + (keepalives.intervalSeconds.map { String(format: ", every %.1f s", $0) } ?? "")
                    + (keepalives.rttP50Milliseconds.map { String(format: ", RTT p50 %.1f ms", $0) } ?? "")
                    + (keepalives.rttP99Milliseconds.map { String(format: " p99 %.1f ms", $0) } ?? "") : "; no keepalives seen")
        }
        return DiagnosisReport.Phone(aor: phone.aor, device: phone.device, instance: phone.instance, state: state,
                                     verdict: verdict + (accepted.isEmpty ? "" : unregistered), arsk: arsk,
                                     registrations: phone.attempts.map {
                                         DiagnosisReport.Registration(time: stamp($0.request.time), edge: $0.edge, callID: $0.callID,
                                                                      status: $0.status, arskGranted: $0.granted && !isRemoval($0.message),
                                                                      removal: isRemoval($0.message))
                                     },
                                     refusals: refusals, keepalives: keepalives, failovers: failovers, evidence: evidenceLines)
    }

    /// `; failed over to edge-2: 503 Service Unavailable from core-1` when the phone tried another
    /// edge after its last accepted registration and was not accepted there.
    private func failoverAttempt(after last: PhoneTraffic.Attempt) -> String {
        guard let attempt = phone.attempts.last(where: { $0.request.time > last.request.time && $0.edge != last.edge }) else { return "" }
        guard let final = attempt.final, let status = attempt.status else { return "; failed over to \(attempt.edge): no answer" }
        return "; failed over to \(attempt.edge): \(status) \(final.message.statusLine!.reasonPhrase) from "
            + hop(of: final.message, fallback: final.record.source)
    }

    /// Offered, granted, and why not: the edge's event (`registration accepted` with `arsk=`),
    /// else the mismatch alarm, else the 200 OK alone.
    private func arskState() -> DiagnosisReport.ARSK {
        let offered = phone.attempts.contains(where: \.offered)
        let accepted = phone.attempts.last(where: { ($0.status ?? 0) / 100 == 2 && !isRemoval($0.message) })?.granted ?? false
        guard offered, !accepted else { return .init(offered: offered, accepted: accepted, reason: nil) }
        let said = evidence.events.last { $0.event == "registration accepted" && $0.fields["aor"] == phone.aor && $0.fields["arsk"] != nil }
        var reason = said.map { "\($0.fields["arsk"]!) (\($0.node))" }.map { $0.replacingOccurrences(of: "refused: ", with: "") }
        if let alarm = evidence.events.last(where: { $0.event.contains("keepalive-setting-mismatch") || $0.fields["alarm"] == "keepalive-setting-mismatch" }) {
            reason = (reason.map { $0 + "; " } ?? "") + "alarm keepalive-setting-mismatch on \(alarm.node)"
        }
        return .init(offered: true, accepted: false, reason: reason ?? "the 200 OK did not carry X-cisco-supports-AR_SK")
    }

    /// Refused REGISTERs (challenges only when three or more in a row go unanswered by a 2xx).
    private func refusals() -> [DiagnosisReport.Refusal] {
        var result: [DiagnosisReport.Refusal] = []
        var challengesInARow = 0
        for attempt in phone.attempts {
            guard let final = attempt.final, let status = attempt.status else { continue }
            if status / 100 == 2 { challengesInARow = 0; continue }
            if status == 401 || status == 407 {
                challengesInARow += 1
                guard challengesInARow >= 3 else { continue }
            }
            result.append(.init(time: stamp(final.record.time), status: status, reason: String(final.message.statusLine!.reasonPhrase),
                                hop: hop(of: final.message, fallback: final.record.source), callID: attempt.callID))
        }
        return result
    }

    /// The node that made this response: the first to log it as sent (a node that relayed it
    /// logged it received first), else the first to log it at all.
    private func hop(of response: SIPMessage, fallback: String) -> String {
        guard evidence.nodes.count > 1 else { return fallback }
        let callID = response.callID, cseq = try? response.cseq(), status = response.statusLine?.statusCode
        let copies = evidence.traffic.filter { record in
            guard let message = record.sip else { return false }
            return message.callID == callID && (try? message.cseq()) == cseq && message.statusLine?.statusCode == status
        }
        let received = Set(copies.filter(\.receivedByNode).map(\.node))
        return (copies.first { !$0.receivedByNode && !received.contains($0.node) } ?? copies.first)?.node ?? fallback
    }

    private func keepaliveSummary() -> DiagnosisReport.Keepalives {
        let asked = phone.keepalives
        let answered = asked.filter(\.succeeded)
        let rtts = answered.map { $0.answer!.time.timeIntervalSince($0.request.time) * 1000 }.sorted()
        var intervals: [Double] = []
        for connection in Set(asked.map(\.connection)) {
            let times = asked.filter { $0.connection == connection }.map(\.request.time)
            intervals += zip(times.dropFirst(), times).map { $0.timeIntervalSince($1) }
        }
        intervals.sort()
        let timeouts = asked.filter { $0.answer == nil && end.timeIntervalSince($0.request.time) > 3 }.count
        var withheld: [String: Int] = [:]
        let addresses = Set(asked.map(\.connection))
        for event in evidence.events where event.event.hasPrefix("keepalive withheld") {
            guard let flow = event.fields["flow"], addresses.contains(where: { flow.contains("/\($0)#") }) else { continue }
            withheld[event.fields["reason"] ?? "unknown", default: 0] += 1
        }
        return .init(sent: asked.count, answered: answered.count, answeredShare: asked.isEmpty ? 0 : Double(answered.count) / Double(asked.count),
                     intervalSeconds: Self.percentile(intervals, 0.5), rttP50Milliseconds: Self.percentile(rtts, 0.5),
                     rttP99Milliseconds: Self.percentile(rtts, 0.99), timeouts: timeouts, withheld: withheld)
    }

    /// Each change of edge between accepted registrations, with what happened on the old
    /// connection before it.
    private func failovers() -> [DiagnosisReport.Failover] {
        let accepted = phone.attempts.filter { ($0.status ?? 0) / 100 == 2 && !isRemoval($0.message) }
        var result: [DiagnosisReport.Failover] = []
        for (before, after) in zip(accepted, accepted.dropFirst()) where before.edge != after.edge {
            let old = phone.keepalives.filter { $0.connection == before.request.source && $0.request.time > before.request.time
                && $0.request.time < after.request.time }
            // The run of failed keepalives just before the move (no answer, or a STUN error).
            let failing = old.reversed().prefix { !$0.succeeded }.reversed()
            let closed = evidence.traffic.first { record in
                if case .closed = record.payload { return record.source == before.request.source && record.time > before.request.time
                    && record.time < after.request.time }
                return false
            }
            var cause: String, start: Date?
            if let first = failing.first {
                start = first.request.time
                let reason = evidence.events.last { $0.event.hasPrefix("keepalive withheld") && $0.time <= after.request.time
                    && $0.fields["flow"]?.contains("/\(first.connection)#") == true }?.fields["reason"]
                if failing.contains(where: { $0.answer != nil }) {
                    cause = "STUN error (\(stamp(first.request.time)))"
                } else {
                    cause = reason.map { "keepalive withheld by \(before.edge): \($0)" } ?? "keepalive timeout (\(stamp(first.request.time)) unanswered)"
                }
            } else if let closed, case .closed(let reason) = closed.payload {
                start = closed.time
                cause = "connection closed (\(reason))"
            } else if let last = old.last {
                let interval = keepaliveSummary().intervalSeconds ?? 30
                start = last.request.time.addingTimeInterval(interval)
                cause = "keepalive timeout (keepalives stopped reaching \(before.edge) after \(stamp(last.request.time)))"
            } else {
                cause = "cause not seen in these logs"
            }
            let seconds: Double? = if let start, let done = after.final?.record.time { done.timeIntervalSince(start) } else { nil }
            let deferred = start.map { callEnded(between: $0, and: after.request.time) } ?? false
            result.append(.init(from: before.edge, to: after.edge, cause: cause, detectedAt: start.map(stamp),
                                reregisteredInSeconds: seconds, deferredByCall: deferred))
        }
        return result
    }

    private func isRemoval(_ register: SIPMessage) -> Bool {
        let contacts = (try? register.contacts()) ?? []
        return register.expires == 0 || (!contacts.isEmpty && contacts.allSatisfy { $0.parameters["expires"] == "0" })
    }

    /// Whether a BYE to or from the phone came between `start` and `end` (its failover waited for it).
    private func callEnded(between start: Date, and end: Date) -> Bool {
        let addresses = Set(phone.connections.keys)
        return evidence.traffic.contains { record in
            record.time > start && record.time < end && record.sip?.requestLine?.method == "BYE"
                && (addresses.contains(record.source) || addresses.contains(record.destination))
        }
    }

    static func percentile(_ sorted: [Double], _ share: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * share).rounded()))]
    }
}

/// `08:30:00.123` (UTC), the time of day an operator reads logs by.
func stamp(_ time: Date) -> String {
    String(LogLine.stamps(time).iso.dropFirst(11).dropLast())
}
