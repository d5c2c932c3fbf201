import Foundation
import Proxy
import Settings
import SIPCore
import Testing
import TestSupport

/// SPEC B4, B21, B22, B24: the keepalive setting changed at runtime with `edgeway xconfiguration`
/// through the admin API; a mismatch between edge and core raises an alarm on both and stops AR_SK.
@Suite("MRA settings", .serialized)
struct MRASettingsTests {
    func alarms(_ node: String, in lab: MRADeployment) async throws -> String {
        let result = try await lab.cli("xstatus", "alarms", node: node)
        #expect(result.status == 0, "\(result.output)")
        return result.output
    }

    @Test func switchingTheEdgeOffRaisesTheMismatchAlarmAndStopsARSK() async throws {
        let lab = try await MRADeployment.start()
        let alice = try TestPhone(user: "alice", caPEM: lab.caPEM)
        #expect(ARSK.accepted(in: try await alice.register(at: lab.edgeAddress())))
        #expect(try await alice.keepalive() != nil)

        let off = try await lab.cli("xconfiguration", "sip advanced stunkeepaliveforregisteredpathenabled: off", node: "edge-1")
        #expect(off.status == 0)
        #expect(off.output.contains("*c xConfiguration SIP Advanced StunKeepAliveForRegisteredPathEnabled: Off"))
        try await eventually("the mismatch alarm on both nodes") {
            let edge = try await alarms("edge-1", in: lab)
            let core = try await alarms("core-1", in: lab)
            return edge.contains("keepalive-setting-mismatch") && core.contains("keepalive-setting-mismatch")
        }
        #expect(try await alice.keepalive() != nil, "SPEC B11: answered until the next refresh, so the change causes no failover")
        let plain = try await alice.register(at: lab.edgeAddress())
        #expect(plain.statusLine?.statusCode == 200)
        #expect(!ARSK.accepted(in: plain), "no AR_SK while the edge has the feature Off")
        #expect(try await alice.keepalive(waiting: 500) == nil, "STUN unanswered while the feature is Off")

        #expect(try await lab.cli("xconfiguration", "SIP Advanced StunKeepAliveForRegisteredPathEnabled: On", node: "edge-1").status == 0)
        try await eventually("the alarm cleared on both nodes") {
            let edge = try await alarms("edge-1", in: lab)
            let core = try await alarms("core-1", in: lab)
            return !edge.contains("mismatch") && !core.contains("mismatch")
        }
        #expect(ARSK.accepted(in: try await alice.register(at: lab.edgeAddress())))
        #expect(try await alice.keepalive() != nil)

        // Off on both: consistent, so no alarm, and still no AR_SK.
        for node in ["edge-1", "core-1"] {
            #expect(try await lab.cli("xconfiguration", "SIP Advanced StunKeepAliveForRegisteredPathEnabled: Off", node: node).status == 0)
        }
        try await eventually("no alarm once both are Off") {
            let edge = try await alarms("edge-1", in: lab)
            let core = try await alarms("core-1", in: lab)
            return edge.contains("*s Alarms Count: 0") && core.contains("*s Alarms Count: 0")
        }
        #expect(!ARSK.accepted(in: try await alice.register(at: lab.edgeAddress())))
        await alice.close()
        await lab.shutdown()
    }

    @Test func theCLINamesThePathAndTheAllowedValues() async throws {
        let lab = try await MRADeployment.start()
        let wrongValue = try await lab.cli("xconfiguration", "SIP Advanced StunKeepAliveForRegisteredPathEnabled: maybe", node: "edge-1")
        #expect(wrongValue.status == 1)
        #expect(wrongValue.output.contains("StunKeepAliveForRegisteredPathEnabled"))
        #expect(wrongValue.output.contains("On, Off"))
        let unknown = try await lab.cli("xconfiguration", "SIP Advanced NoSuchThing", node: "edge-1")
        #expect(unknown.status == 1)
        #expect(unknown.output.contains("StunKeepAliveForRegisteredPathEnabled"), "lists the settings of the nearest branch")
        let read = try await lab.cli("xconfiguration", "sip advanced", node: "core-1")
        #expect(read.output.contains("*c xConfiguration SIP Advanced SipPathHeaders: Off"))
        let command = try await lab.cli("xcommand", "Nonsense", node: "core-1")
        #expect(command.status == 1)
        #expect(command.output.contains("Links Refresh"))
        let status = try await lab.cli("xstatus", "links", node: "core-1")
        #expect(status.output.contains("*s Links Link 1 State: Up"))
        let refused = try await EdgewayProcess.run(["xstatus", "--admin", try String(contentsOf: lab.folder.appendingPathComponent("edge-1/admin.url"), encoding: .utf8),
                                              "--token", "wrong"])
        #expect(refused.status == 1)
        #expect(refused.output.contains("wrong admin token"), "a wrong token is called wrong, not missing: \(refused.output)")
        await lab.shutdown()
    }
}
