@testable import Diagnostics
import Foundation
import SIPCore
import STUNCore
import Testing
import TestSupport

/// The analyser's verdicts from evidence made by hand (SPEC B27), and its refusals of input that
/// is not evidence (exit status 2).
@Suite struct DiagnosisTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A REGISTER from the phone at `phone` to `edge` (its node) and its answer.
    static func register(_ cseq: Int, at second: Double, from phone: String, edge: String, status: Int, reason: String = "OK",
                         arsk: Bool = true) throws -> [TrafficRecord] {
        let request = try SIPParser.parse("""
            REGISTER sip:example.com SIP/2.0\r
            Via: SIP/2.0/TLS \(phone);branch=z9hG4bK-\(cseq)\r
            From: <sip:alice@example.com>;tag=1\r
            To: <sip:alice@example.com>\r
            Call-ID: reg-alice\r
            CSeq: \(cseq) REGISTER\r
            Contact: <sip:alice@\(phone);transport=tls>;+sip.instance="<urn:uuid:a1>";+u.sip!devicename.ccm.cisco.com="CSFALICE";x-cisco-mra-ha=AR_SK\r
            Expires: 120\r
            Content-Length: 0\r
            \r

            """)
        let response = try SIPParser.parse("""
            SIP/2.0 \(status) \(reason)\r
            Via: SIP/2.0/TLS \(phone);branch=z9hG4bK-\(cseq)\r
            From: <sip:alice@example.com>;tag=1\r
            To: <sip:alice@example.com>;tag=2\r
            Call-ID: reg-alice\r
            CSeq: \(cseq) REGISTER\r
            \(status == 200 ? "Contact: <sip:alice@\(phone);transport=tls>;expires=120\r\n" : "")\(arsk && status == 200 ? "Supported: X-cisco-supports-AR_SK\r\n" : "")Content-Length: 0\r
            \r

            """)
        let edgeAddress = edge == "edge-1" ? "127.0.0.1:15061" : "127.0.0.1:15062"
        return [TrafficRecord(time: start.addingTimeInterval(second), node: edge, source: phone, destination: edgeAddress, transport: "TLS",
                              payload: .sip(request)),
                TrafficRecord(time: start.addingTimeInterval(second + 0.01), node: edge, source: edgeAddress, destination: phone,
                              transport: "TLS", payload: .sip(response))]
    }

    /// A keepalive at `second`, answered after 2 ms unless `answered` is false.
    static func keepalive(at second: Double, from phone: String, edge: String, answered: Bool = true) -> [TrafficRecord] {
        let id = String(format: "%024x", Int(second * 1000))
        let edgeAddress = edge == "edge-1" ? "127.0.0.1:15061" : "127.0.0.1:15062"
        let request = TrafficRecord(time: start.addingTimeInterval(second), node: edge, source: phone, destination: edgeAddress, transport: "TLS",
                                    payload: .stun(.bindingRequest, transactionID: id))
        guard answered else { return [request] }
        return [request, TrafficRecord(time: start.addingTimeInterval(second + 0.002), node: edge, source: edgeAddress, destination: phone,
                                       transport: "TLS", payload: .stun(.bindingSuccess, transactionID: id))]
    }

    @Test func aFailoverAfterAnUnansweredKeepaliveIsTimedFromIt() throws {
        var traffic = try Self.register(1, at: 0, from: "127.0.0.1:40001", edge: "edge-1", status: 200)
        for second in stride(from: 30.0, through: 90, by: 30) { traffic += Self.keepalive(at: second, from: "127.0.0.1:40001", edge: "edge-1") }
        traffic += Self.keepalive(at: 120, from: "127.0.0.1:40001", edge: "edge-1", answered: false)
        traffic += try Self.register(2, at: 123.2, from: "127.0.0.1:40002", edge: "edge-2", status: 200)
        let report = Diagnosis.analyse(Evidence(traffic: traffic, nodes: ["edge-1", "edge-2"]), user: nil)
        let phone = try #require(report.phones.first)
        #expect(phone.device == "CSFALICE" && phone.instance == "urn:uuid:a1")
        #expect(phone.state == "failed over")
        let failover = try #require(phone.failovers.first)
        #expect(failover.from == "edge-1" && failover.to == "edge-2" && failover.cause.hasPrefix("keepalive timeout"))
        #expect(abs((failover.reregisteredInSeconds ?? 0) - 3.21) < 0.01, "\(failover)")
        #expect(phone.keepalives.sent == 4 && phone.keepalives.answered == 3 && phone.keepalives.intervalSeconds == 30)
        #expect(phone.verdict.hasPrefix("failed over 1×: edge-1 → edge-2 after keepalive timeout"), "\(phone.verdict)")
    }

    @Test func aFailoverAfterACallEndedIsMarkedDeferred() throws {
        var traffic = try Self.register(1, at: 0, from: "127.0.0.1:40001", edge: "edge-1", status: 200)
        traffic += Self.keepalive(at: 30, from: "127.0.0.1:40001", edge: "edge-1", answered: false)
        let bye = try SIPParser.parse("BYE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:40001;branch=z9hG4bK-b\r\n"
            + "From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>;tag=2\r\nCall-ID: call-1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n")
        traffic.append(TrafficRecord(time: Self.start.addingTimeInterval(50), node: "edge-1", source: "127.0.0.1:40001",
                                     destination: "127.0.0.1:15061", transport: "TLS", payload: .sip(bye)))
        traffic += try Self.register(2, at: 51, from: "127.0.0.1:40002", edge: "edge-2", status: 200)
        let phone = try #require(Diagnosis.analyse(Evidence(traffic: traffic, nodes: ["edge-1", "edge-2"]), user: "alice").phones.first)
        #expect(phone.failovers.first?.deferredByCall == true, "\(phone.failovers)")
        #expect(phone.verdict.contains("(deferred until its call ended)"))
    }

    @Test func challengesThatLoopAreARefusalAndOneChallengeIsNot() throws {
        var traffic: [TrafficRecord] = []
        for cseq in 1...4 { traffic += try Self.register(cseq, at: Double(cseq), from: "127.0.0.1:40001", edge: "edge-1", status: 401, reason: "Unauthorized") }
        let looping = try #require(Diagnosis.analyse(Evidence(traffic: traffic, nodes: ["edge-1"]), user: nil).phones.first)
        #expect(looping.state == "refused" && looping.refusals.count == 2, "\(looping.refusals)")
        #expect(looping.verdict.contains("401 Unauthorized") && looping.verdict.contains("check the user, password and domain"))

        let once = try Self.register(1, at: 0, from: "127.0.0.1:40001", edge: "edge-1", status: 401, reason: "Unauthorized")
            + Self.register(2, at: 1, from: "127.0.0.1:40001", edge: "edge-1", status: 200)
        let fine = try #require(Diagnosis.analyse(Evidence(traffic: once, nodes: ["edge-1"]), user: nil).phones.first)
        #expect(fine.refusals.isEmpty && fine.state == "healthy", "\(fine.verdict)")
    }

    @Test func aRefusalNamesTheHopThatMadeIt() throws {
        var traffic = try Self.register(1, at: 0, from: "127.0.0.1:40001", edge: "edge-1", status: 403, reason: "Forbidden")
        // The core sent it first; the edge relayed it.
        var made = traffic[1]
        made.node = "core-1"
        made.time = Self.start.addingTimeInterval(0.005)
        traffic.insert(made, at: 1)
        let phone = try #require(Diagnosis.analyse(Evidence(traffic: traffic, nodes: ["core-1", "edge-1"]), user: nil).phones.first)
        #expect(phone.refusals.first?.hop == "core-1" && phone.refusals.first?.status == 403, "\(phone.refusals)")
        #expect(phone.verdict == "not registered: 403 Forbidden from core-1")
    }

    @Test func inputThatIsNotEvidenceExitsTwoSayingWhy() async throws {
        let folder = try temporaryFolder("edgeway-diagnose")
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("notes.txt")
        try "hello".write(to: text, atomically: true, encoding: .utf8)
        let empty = folder.appendingPathComponent("empty.tar.gz")
        let foreign = folder.appendingPathComponent("foreign.tar.gz")
        let truncated = folder.appendingPathComponent("truncated.pcap")
        let capture = try Data(contentsOf: try await CaptureTests.capture(in: folder))
        try capture.prefix(capture.count - 7).write(to: truncated)
        for (archive, entries) in [(empty, [String]()), (foreign, ["notes.txt"])] {
            let tar = try await EdgewayProcess.run(executable: "/usr/bin/tar",
                                                   ["czf", archive.path, "-C", folder.path] + (entries.isEmpty ? ["--files-from", "/dev/null"] : entries))
            try #require(tar.status == 0, "tar: \(tar.output)")
        }
        let events = folder.appendingPathComponent("event.log")
        try "2026-12-01T08:30:00.000Z edge-1 edgeway: UTCTime=\"2026-12-01 08:30:00,000\" Module=\"events\" Level=\"INFO\": Event=\"x\"\n"
            .write(to: events, atomically: true, encoding: .utf8)
        let cases: [(URL, String)] = [
            (events, "is an event log, not a message log"),
            (folder, "is a folder: give the bundle"),
            (text, "is not a pcap capture, an Edgeway message log or a diagnostic bundle"),
            (empty, "holds no Edgeway node folders"),
            (foreign, "holds no Edgeway node folders"),
            (truncated, "\(truncated.path): capture cut short: record "),
            (folder.appendingPathComponent("absent.pcap"), "cannot read \(folder.path)/absent.pcap: no such file"),
        ]
        for (input, message) in cases {
            let result = try await EdgewayProcess.run(["diagnose", input.path])
            #expect(result.status == 2 && result.output.contains(message), "\(input.lastPathComponent): \(result.status) \(result.output)")
        }
        let half = folder.appendingPathComponent("half.tar.gz")
        try Data(contentsOf: foreign).prefix(20).write(to: half)
        let cut = try await EdgewayProcess.run(["diagnose", half.path])
        #expect(cut.status == 2 && cut.output.contains("is not a readable diagnostic bundle"), "\(cut.output)")
    }
}
