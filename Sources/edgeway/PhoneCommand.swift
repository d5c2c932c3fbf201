import AdminWeb
import ArgumentParser
import EdgewayNode
import Foundation
import NIOPosix
import Phone
import PhoneLogic

/// `edgeway phone`: a soft phone with a live timeline and commands on standard input.
struct PhoneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phone",
        abstract: "Register through edges with STUN keepalive failover, and place and answer calls.",
        discussion: """
            Commands on standard input: call USER, answer, hangup, status, quit. On quit (or end of
            input, or Ctrl-C) the phone un-REGISTERs.
            """
    )

    @Option(help: "The user name.") var user: String
    @Option(help: "The password.") var password: String
    @Option(help: "The SIP domain.") var domain = "example.com"
    @Option(help: "An edge's TLS address, host:port; repeat for more, in the order to try them.") var edge: [String] = []
    @Flag(help: "Find the edges through DNS SRV _collab-edge._tls.DOMAIN instead of --edge.") var discover = false
    @Option(help: "The DNS server to ask, host:port (default 127.0.0.53:53).") var dns = "127.0.0.53:53"
    @Option(help: "The CA that signs the edges' certificates (PEM).") var ca: String?
    @Option(help: "Time between STUN keepalives, e.g. 30s, 5s, 500ms (plain numbers: ms).") var keepalive = Milliseconds(30_000)
    @Option(help: "Time to wait for a keepalive's answer, e.g. 3s, 300ms (plain numbers: ms).") var timeout = Milliseconds(3_000)
    @Option(help: "Serve the phone's Prometheus metrics (keepalive RTT, failover detect and re-register times) at host:port, e.g. 127.0.0.1:9101, on /metrics.")
    var metrics: String?
    @Option(help: "How long a call goes on once its signalling path is dead before the phone ends it and fails over, e.g. 32s (plain numbers: ms).")
    var deadPathLimit = Milliseconds(32_000)

    func run() async throws {
        var edges = edge
        if discover {
            edges = try await EdgeDiscovery.edges(of: domain, server: try NodeAddress.resolve(dns, key: "--dns"))
            say("edges of \(domain) from DNS SRV: \(edges.joined(separator: ", "))")
        }
        guard !edges.isEmpty else { throw CommandFailure("give at least one --edge HOST:PORT, or --discover") }
        for address in edges { _ = try NodeAddress.resolve(address, key: "--edge") }
        guard (100...3_600_000).contains(keepalive.milliseconds), (50...60_000).contains(timeout.milliseconds) else {
            throw CommandFailure("--keepalive must be 100ms…60m and --timeout 50ms…60s")
        }
        var timers = RegistrationMachine.Configuration()
        timers.keepaliveInterval = keepalive.milliseconds
        timers.keepaliveTimeout = timeout.milliseconds
        timers.deadPathCallLimit = deadPathLimit.milliseconds
        let phone = try SoftPhone(configuration: .init(user: user, password: password, domain: domain, edges: edges,
                                                       trustedCAPEM: try ca.map { try FileArguments.pem($0, option: "--ca") },
                                                       timers: timers),
                                  group: MultiThreadedEventLoopGroup.singleton)
        let started = ContinuousClock.now
        let measured = metrics == nil ? nil : PhoneMetrics()
        var metricsServer: AdminServer?
        if let metrics, let measured {
            guard let (host, port) = NodeConfiguration.splitHostPort(metrics) else { throw CommandFailure("--metrics takes host:port, e.g. 127.0.0.1:9101") }
            metricsServer = try await measured.serve(host: host, port: port)
            say("metrics http://\(host):\(metricsServer!.port)/metrics")
        }
        // Whichever comes first: `quit` (or the end of input), a signal, or the registrar refusing
        // the registration (nothing more to do: exit 1); the process ends after.
        let (finished, finish) = AsyncStream<Bool>.makeStream()
        let printer = Task {
            var failedAt: ContinuousClock.Instant?
            for await event in phone.events {
                measured?.record(event, user: user)
                var line = "\(PhoneTimeline.stamp(since: started)) \(PhoneTimeline.describe(event))"
                switch event {
                case .registration(.edgeFailed):
                    failedAt = failedAt ?? .now
                case .registration(.registered):
                    if let failedAt { line += String(format: " (failover took %.0f ms)", (ContinuousClock.now - failedAt).seconds * 1_000) }
                    failedAt = nil
                case .registration(.registrationRefused) where phone.activeCalls.isEmpty:
                    finish.yield(false)
                case .keepaliveSent:
                    // Its answer (or timeout) is the line worth reading.
                    continue
                default:
                    break
                }
                say(line)
            }
        }
        phone.start()
        Task {
            await PhoneTimeline.readCommands(phone)
            finish.yield(true)
        }
        Task {
            _ = await ProcessSignals.next([SIGTERM, SIGINT])
            finish.yield(true)
        }
        var succeeded = true
        for await outcome in finished {
            succeeded = outcome
            break
        }
        say("\(PhoneTimeline.stamp(since: started)) \(phone.registeredEdge == nil ? "stopping (not registered)" : "un-registering")")
        await phone.stop()
        await printer.value
        await metricsServer?.stop()
        if !succeeded { throw ExitCode(1) }
    }
}

/// The phone's timeline lines and its command loop.
enum PhoneTimeline {
    static func stamp(since start: ContinuousClock.Instant) -> String {
        String(format: "[%8.3f]", (ContinuousClock.now - start).seconds)
    }

    /// A call's state in words: `incoming from sip:bob@example.com`, `ended: 486 Busy Here`.
    static func describe(_ state: SoftPhone.CallState) -> String {
        switch state {
        case .ringing: "ringing"
        case .incoming(let from): "incoming from \(from)"
        case .established: "established"
        case .ended(let reason): "ended: \(reason)"
        }
    }

    /// The keepalive in words: `stun`, `crlf every 96s`, `none`.
    static func describe(_ keepalive: RegistrationMachine.KeepaliveMode) -> String {
        switch keepalive {
        case .stun: "stun"
        case .crlf(let interval): "crlf every \(Milliseconds.describe(interval))"
        case .none: "none"
        }
    }

    static func describe(_ event: SoftPhone.Event) -> String {
        switch event {
        case .registerSent(let edge, let cseq): "REGISTER (CSeq \(cseq)) via \(edge)"
        case .pong: "CRLF keepalive answered"
        case .keepaliveSent(let edge): "keepalive sent via \(edge)"
        case .call(let id, let state): "call \(id.prefix(13)): \(describe(state))"
        case .registration(let step):
            switch step {
            case .registered(let edge, let arsk, let keepalive):
                "registered via \(edge); AR_SK \(arsk ? "on" : "off"); keepalive \(describe(keepalive))"
            case .keepaliveAnswered(let rtt): "keepalive answered in \(rtt) ms"
            case .edgeFailed(let edge, let reason): "edge \(edge) failed: \(reason)"
            case .failoverDeferred(let edge, let reason): "edge \(edge) failed (\(reason)); failover deferred until the call ends"
            case .failoverStarted(let from, let to): from.map { "failover from \($0) to \(to)" } ?? "connecting to \(to)"
            case .backingOff(let wait, let round): "every edge failed (round \(round)); retrying in \(wait) ms"
            case .registrationRefused(let status):
                "the registrar refused the registration (\(status)): check the user, password and domain; not retrying"
            }
        }
    }

    /// Reads commands until `quit` or the end of input.
    static func readCommands(_ phone: SoftPhone) async {
        let lines = AsyncStream<String> { continuation in
            Thread.detachNewThread {
                while let line = readLine() { continuation.yield(line) }
                continuation.finish()
            }
        }
        for await line in lines {
            let words = line.split(separator: " ").map(String.init)
            switch words.first?.lowercased() {
            case "call" where words.count == 2:
                do { try phone.call(words[1]) } catch { say("cannot call: \(error)") }
            case "answer":
                if let call = phone.activeCalls.first { phone.answer(call) } else { say("no call to answer") }
            case "hangup":
                for call in phone.activeCalls { await phone.hangUp(call) }
            case "status":
                say("registered via \(phone.registeredEdge ?? "none"); calls: \(phone.activeCalls.count)")
            case "quit":
                return
            case nil:
                continue
            default:
                say("commands: call USER, answer, hangup, status, quit")
            }
        }
    }
}
