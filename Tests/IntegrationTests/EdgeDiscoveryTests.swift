import Foundation
import NIOCore
import NIOPosix
import Phone
import Testing
import TestSupport

/// SPEC B15 with DNS: the phone finds its edges through `_collab-edge._tls.example.com` SRV
/// records served by dnsmasq (Debian `dnsmasq-base`, installed by `.ci/run`), tries them in RFC 2782
/// order and skips the one that failed.
@Suite("Edge discovery through DNS SRV", .serialized)
struct EdgeDiscoveryTests {
    static let dnsmasq = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let required = ProcessInfo.processInfo.environment["EDGEWAY_REQUIRE_INTEROP"] == "1"

    @Test(.enabled(if: dnsmasq != nil || required, "dnsmasq is not installed (apt-get install dnsmasq-base)"))
    func thePhoneFindsTheEdgesBySRVAndFailsOverToTheNextOne() async throws {
        let dnsmasq = try #require(Self.dnsmasq, "dnsmasq is required here (EDGEWAY_REQUIRE_INTEROP=1)")
        let lab = try await MRADeployment.start(cores: 1, edges: 2)
        let ports = lab.edges.map { $0.boundAddresses[.tls]!.port! }
        let dnsPort = Int.random(in: 200...270) * 100 + 53
        let server = try EdgewayProcess(executable: "/bin/sh", EdgewayProcess.holdingDescriptors(dnsmasq, [
            "--no-daemon", "--port=\(dnsPort)", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
            "--no-hosts", "--conf-file=/dev/null",
            "--srv-host=_collab-edge._tls.example.com,edge2.example.com,\(ports[1]),20,100",
            "--srv-host=_collab-edge._tls.example.com,edge1.example.com,\(ports[0]),10,100",
            "--host-record=edge1.example.com,127.0.0.1", "--host-record=edge2.example.com,127.0.0.1",
        ]))
        // dnsmasq ends only by SIGKILL here, however the test ends: a stale one would answer a later run on its port.
        let stop = {
            try? await server.stop(signal: SIGKILL)
            _ = try? await EdgewayProcess.run(executable: "/usr/bin/pkill", ["-KILL", "-f", "dnsmasq --no-daemon --port=\(dnsPort) "])
        }
        do {
            let dns = try SocketAddress(ipAddress: "127.0.0.1", port: dnsPort)
            var edges: [String] = []
            try await eventually("dnsmasq answers") {
                edges = (try? await EdgeDiscovery.edges(of: "example.com", server: dns, timeout: .milliseconds(200))) ?? []
                return !edges.isEmpty
            }
            #expect(edges == ["127.0.0.1:\(ports[0])", "127.0.0.1:\(ports[1])"], "priority 10 before 20")

            let alice = try SoftPhone(configuration: .init(user: "alice", password: "pw-alice", domain: "example.com", edges: edges,
                                                           trustedCAPEM: lab.caPEM, timers: PhoneFailoverTests.timers),
                                      group: MultiThreadedEventLoopGroup.singleton)
            alice.start()
            try await eventually("registered through the priority-10 edge") { alice.registeredEdge == edges[0] }
            await lab.edges[0].shutdown()
            try await eventually("registered through the other edge") { alice.registeredEdge == edges[1] }
            await alice.stop()
            await lab.shutdown()
        } catch {
            await stop()
            await lab.shutdown()
            throw error
        }
        await stop()
    }
}
