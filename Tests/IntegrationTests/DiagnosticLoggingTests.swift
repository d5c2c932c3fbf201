import Foundation
import NIOPosix
import Phone
import PhoneLogic
import Testing
import TestSupport

/// SPEC B25–B27 as an operator uses them, on `edgeway lab` run as a new user runs it: diagnostic
/// logging with TakeTcpdump started from one node's CLI reaches the whole cluster; Stop, Collect
/// and Download give one bundle with a folder per node; tshark reads every capture; `edgeway
/// diagnose` names the cause in four scenarios.
@Suite("Diagnostic logging across the lab", .serialized)
struct DiagnosticLoggingTests {
    static let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let required = ProcessInfo.processInfo.environment["EDGEWAY_REQUIRE_INTEROP"] == "1"
    static let nodes = ["registrar", "core-1", "core-2", "edge-1", "edge-2"]

    @Test func aHealthyRegistrationIsLoggedCapturedAndJudgedHealthy() async throws {
        try await LabUnderTest.with { lab in
            let started = try await lab.cli(["xcommand", "DiagnosticLogging", "Start", "TakeTcpdump:", "On"], on: "edge-1")
            for node in Self.nodes { #expect(started.contains("Node \(node): started"), "\(started)") }
            let marked = try await lab.cli(["xcommand", "DiagnosticLogging", "Marker", "Text:", "\"alice registers now\""], on: "core-2")
            #expect(marked.contains("Node registrar: marked"), "\(marked)")
            // A second log while this one runs is refused with the reason.
            let second = try await EdgewayProcess.run(["xcommand", "DiagnosticLogging", "Start", "--data", lab.folder("edge-2")])
            #expect(second.status == 1 && second.output.contains("already running"), "\(second.output)")

            let alice = try lab.phone("alice", "alice-secret")
            let timeline = PhoneEvents(alice)
            alice.start()
            try await eventually("alice registered through edge-1 and 4 keepalives answered", seconds: 30) {
                alice.registeredEdge == lab.edges[0] && timeline.answered >= 4
            }
            // Stop right after an answer, so no keepalive is in flight.
            let answered = timeline.answered
            try await eventually("one more keepalive answered") { timeline.answered > answered }
            await alice.stop()

            let bundle = try await lab.record(to: "healthy")
            let listing = try await EdgewayProcess.run(executable: "/usr/bin/tar", ["tzf", bundle.path]).output
            for node in Self.nodes {
                for file in ["message.log", "event.log", "markers.log", "capture.pcap", "xconfiguration-start.txt", "xstatus-start.txt",
                             "xconfiguration-stop.txt", "xstatus-stop.txt", "session.txt"] {
                    #expect(listing.contains("/\(node)/\(file)"), "\(node)/\(file) in the bundle: \(listing)")
                }
            }
            #expect(listing.contains("/cluster.txt"))
            let unpacked = try await lab.unpack(bundle)
            let edgeLog = try String(contentsOf: unpacked.appendingPathComponent("edge-1/message.log"), encoding: .utf8)
            #expect(edgeLog.contains("Module=\"network.sip\" Level=\"DEBUG\":  Action=\"Received\""), "the network-log shape")
            #expect(edgeLog.contains("SIPMSG:\n|REGISTER sip:example.com SIP/2.0"))
            #expect(edgeLog.contains("Marker=\"alice registers now\""))
            let events = try String(contentsOf: unpacked.appendingPathComponent("edge-1/event.log"), encoding: .utf8)
            #expect(events.contains("Event=\"registration accepted\"") && events.contains("arsk=\"accepted\""), "\(events)")

            if let tshark = Self.tshark {
                for node in Self.nodes {
                    let capture = unpacked.appendingPathComponent("\(node)/capture.pcap").path
                    #expect(try await Self.count(tshark, capture, "_ws.malformed || _ws.expert.severity == error") == 0, "\(node): malformed frames")
                    #expect(try await Self.count(tshark, capture, "sip") > 0, "\(node): SIP dissected")
                }
                // The phone's side of edge-1: its own TLS port behind the lab's fault relay (base + 101).
                let edge = unpacked.appendingPathComponent("edge-1/capture.pcap").path
                let phoneSide = "tcp.port == \(lab.base + 101) || udp.port == \(lab.base + 101)"
                #expect(try await Self.count(tshark, edge, "(\(phoneSide)) && sip.Method == \"REGISTER\" && sip.Contact contains \"x-cisco-mra-ha=AR_SK\"") >= 1)
                #expect(try await Self.count(tshark, edge, "tcp.srcport == \(lab.base + 101) && sip.Status-Code == 200 && sip.CSeq.method == \"REGISTER\" "
                                                     + "&& sip.Supported contains \"X-cisco-supports-AR_SK\"") >= 1)
                let requests = try await Self.count(tshark, edge, "(\(phoneSide)) && stun.type == 0x0001")
                let successes = try await Self.count(tshark, edge, "(\(phoneSide)) && stun.type == 0x0101")
                // The phone's own counts, once its events have all been read.
                try await eventually("the phone sent \(requests) keepalives and got \(successes) answers (it says \(timeline.sent) and \(timeline.answered))") {
                    timeline.sent == requests && timeline.answered == successes
                }
                #expect(requests >= 5)
            } else {
                #expect(!Self.required, "tshark is required here (EDGEWAY_REQUIRE_INTEROP=1): apt-get install tshark")
            }

            let diagnosis = try await EdgewayProcess.run(["diagnose", bundle.path])
            print("edgeway diagnose (healthy):\n\(diagnosis.output)")
            #expect(diagnosis.status == 0, "\(diagnosis.output)")
            #expect(diagnosis.output.contains("verdict: healthy: registered through edge-1 with AR_SK"), "\(diagnosis.output)")
            #expect(diagnosis.output.contains("cluster: 1 phone: 1 healthy"), "\(diagnosis.output)")
            let json = try await Self.json(bundle)
            #expect((json["phones"] as? [[String: Any]])?.first?["state"] as? String == "healthy", "\(json)")
        }
    }

    @Test func theKeepaliveSwitchedOffOnOneEdgeIsNamedAsTheCause() async throws {
        try await LabUnderTest.with { lab in
            _ = try await lab.cli(["xconfiguration", "SIP", "Advanced", "StunKeepAliveForRegisteredPathEnabled:", "Off"], on: "edge-1")
            _ = try await lab.cli(["xcommand", "DiagnosticLogging", "Start"], on: "edge-1")
            let alice = try lab.phone("alice", "alice-secret")
            alice.start()
            try await eventually("alice registered through edge-1", seconds: 30) { alice.registeredEdge == lab.edges[0] }
            await alice.stop()
            let bundle = try await lab.record(to: "setting-off")
            let diagnosis = try await EdgewayProcess.run(["diagnose", bundle.path])
            print("edgeway diagnose (keepalive Off on edge-1):\n\(diagnosis.output)")
            #expect(diagnosis.output.contains("verdict: registered without AR_SK: StunKeepAliveForRegisteredPathEnabled is Off on this edge (edge-1)"),
                    "\(diagnosis.output)")
            #expect(diagnosis.output.contains("alarm keepalive-setting-mismatch"), "\(diagnosis.output)")
            let json = try await Self.json(bundle)
            let phone = try #require((json["phones"] as? [[String: Any]])?.first)
            #expect(phone["state"] as? String == "no AR_SK")
            #expect((phone["arsk"] as? [String: Any])?["accepted"] as? Bool == false)
        }
    }

    @Test func aBlackHoledEdgeShowsAFailoverByTimeoutAndItsDuration() async throws {
        try await LabUnderTest.with { lab in
            _ = try await lab.cli(["xcommand", "DiagnosticLogging", "Start", "TakeTcpdump:", "On"], on: "core-1")
            let alice = try lab.phone("alice", "alice-secret")
            let timeline = PhoneEvents(alice)
            alice.start()
            try await eventually("alice registered through edge-1, keepalives answered", seconds: 30) {
                alice.registeredEdge == lab.edges[0] && timeline.answered >= 3
            }
            _ = try await EdgewayProcess.run(["lab", "fail", "edge-1", "--mode", "blackhole", "--data", lab.data.path])
            try await eventually("alice registered through edge-2", seconds: 30) { alice.registeredEdge == lab.edges[1] }
            await alice.stop()
            let bundle = try await lab.record(to: "blackhole")
            let diagnosis = try await EdgewayProcess.run(["diagnose", bundle.path, "--user", "alice"])
            print("edgeway diagnose (edge-1 black-holed):\n\(diagnosis.output)")
            #expect(diagnosis.output.contains("verdict: failed over 1×: edge-1 → edge-2 after keepalive timeout"), "\(diagnosis.output)")
            #expect(diagnosis.output.contains("re-registered in "), "\(diagnosis.output)")
            let json = try await Self.json(bundle)
            let failover = try #require(((json["phones"] as? [[String: Any]])?.first?["failovers"] as? [[String: Any]])?.first)
            #expect(failover["from"] as? String == "edge-1" && failover["to"] as? String == "edge-2", "\(failover)")
            let seconds = try #require(failover["reregisteredInSeconds"] as? Double)
            #expect(seconds > 0 && seconds < 30, "\(seconds)")
        }
    }

    @Test func aStoppedRegistrarShowsWithheldKeepalivesAndTheBundleSaysItIsMissing() async throws {
        try await LabUnderTest.with { lab in
            _ = try await lab.cli(["xcommand", "DiagnosticLogging", "Start", "TakeTcpdump:", "On"], on: "edge-2")
            let alice = try lab.phone("alice", "alice-secret")
            let timeline = PhoneEvents(alice)
            alice.start()
            try await eventually("alice registered through edge-1", seconds: 30) { alice.registeredEdge == lab.edges[0] && timeline.answered >= 2 }
            _ = try await EdgewayProcess.run(["lab", "fail", "registrar", "--mode", "kill", "--data", lab.data.path])
            try await eventually("alice failed over from edge-1", seconds: 30) { timeline.failed }
            // Edge-2's answer (a 503: no registrar) is in before the log stops: the phone has failed
            // over from edge-2 too, or been refused there.
            try await eventually("alice tried edge-2 and heard back", seconds: 30) { timeline.registersTo(lab.edges[1]) && timeline.failures >= 2 }
            await alice.stop()
            let bundle = try await lab.record(to: "registrar-stopped")
            let unpacked = try await lab.unpack(bundle)
            let cluster = try String(contentsOf: unpacked.appendingPathComponent("cluster.txt"), encoding: .utf8)
            #expect(cluster.contains("node registrar: missing: "), "\(cluster)")
            #expect(FileManager.default.fileExists(atPath: unpacked.appendingPathComponent("edge-1/message.log").path))
            let diagnosis = try await EdgewayProcess.run(["diagnose", bundle.path])
            print("edgeway diagnose (registrar stopped):\n\(diagnosis.output)")
            #expect(diagnosis.output.contains("verdict: keepalives withheld by edge-1: registrar unreachable"), "\(diagnosis.output)")
            #expect(diagnosis.output.contains("failed over to edge-2"), "\(diagnosis.output)")
            #expect(diagnosis.output.contains("missing: registrar"), "\(diagnosis.output)")
            let json = try await Self.json(bundle)
            #expect((json["cluster"] as? [String: Any]).flatMap { $0["missing"] as? [String: String] }?["registrar"] != nil, "\(json)")
        }
    }

    /// `tshark -r CAPTURE -Y FILTER` frame count; tshark must succeed.
    static func count(_ tshark: String, _ capture: String, _ filter: String) async throws -> Int {
        let result = try await EdgewayProcess.run(executable: tshark, ["-r", capture, "-Y", filter, "-T", "fields", "-e", "frame.number"])
        try #require(result.status == 0, "tshark -Y '\(filter)': \(result.output)")
        return result.output.split(separator: "\n").filter { Int($0) != nil }.count
    }

    static func json(_ bundle: URL) async throws -> [String: Any] {
        let result = try await EdgewayProcess.run(["diagnose", bundle.path, "--json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], "\(result.output)")
    }
}

/// A phone's keepalives sent and answered, failovers and REGISTERs, as they happen.
final class PhoneEvents: Sendable {
    private let events = LockedBox<[SoftPhone.Event]>([])

    init(_ phone: SoftPhone) {
        Task { [events] in
            for await event in phone.events { events.mutate { $0.append(event) } }
        }
    }

    var sent: Int { events.read { $0.filter { if case .keepaliveSent = $0 { true } else { false } }.count } }
    var answered: Int { events.read { $0.filter { if case .registration(.keepaliveAnswered) = $0 { true } else { false } }.count } }
    var failed: Bool { failures > 0 }
    /// Edges failed, or registrations refused.
    var failures: Int {
        events.read { $0.filter { if case .registration(.edgeFailed) = $0 { true } else if case .registration(.registrationRefused) = $0 { true } else { false } }.count }
    }

    func registersTo(_ edge: String) -> Bool {
        events.read { $0.contains { if case .registerSent(edge, _) = $0 { true } else { false } } }
    }
}
