import AdminWeb
import ArgumentParser
import EdgewayNode
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Phone
import SIPCore
import SIPStack
import SIPTransport

/// `edgeway loadgen`: many phones over real TLS from one process, each on its own connection,
/// registering with digest through an edge and then holding their connections idle — for the
/// registrations-per-second and memory-per-flow figures. Bounded in count and time.
struct LoadgenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Register many phones over TLS through an edge and hold their connections.",
        discussion: """
            Users are PREFIX1 … PREFIXN with one password (edgeway users add PREFIX --count N --password P).
            Connections come from 127.0.0.10 … 127.0.0.209 in turn so one source stays under the edge's
            per-source limit. Prints the registration rate and latency, then holds the flows.
            """
    )

    @Option(help: "The edge's phone-facing TLS address, host:port.") var edge: String
    @Option(help: "The CA that signs the edge's certificate (PEM).") var ca: String
    @Option(help: "How many phones, 1…18000.") var phones: Int = 1_000
    @Option(help: "User name prefix.") var userPrefix = "load"
    @Option(help: "The users' password.") var password: String
    @Option(help: "The SIP domain.") var domain = "example.com"
    @Option(help: "Registrations in flight at once, 1…1000.") var concurrency = 64
    @Option(help: "How long to hold the flows after registering, up to 1h (3600, 90s, 10m; plain numbers are seconds).")
    var hold = Seconds(0)
    @Option(help: "Rounds of re-registration over the open connections after the first, 0…100.") var refreshes = 0
    @Option(help: "During --hold, a phone whose connection closes re-registers through this edge, host:port (a failover storm).")
    var failoverTo: String?
    @Option(help: "During --hold, each phone sends a STUN keepalive on its flow this often, 1s…1h (30, 30s; plain numbers are seconds; 0: none).")
    var keepalive = Seconds(0)
    @Option(help: "Serve the phones' Prometheus metrics (keepalive RTT and counters) at host:port on /metrics, e.g. 127.0.0.1:9102.")
    var metrics: String?

    func run() async throws {
        guard (1...18_000).contains(phones) else { throw CommandFailure("--phones must be 1…18000 (the open-file limit)") }
        guard (1...1_000).contains(concurrency) else { throw CommandFailure("--concurrency must be 1…1000") }
        guard (0...3_600_000).contains(hold.milliseconds) else { throw CommandFailure("--hold must be 0…1h") }
        let hold = Int(hold.milliseconds / 1_000)
        guard (0...100).contains(refreshes) else { throw CommandFailure("--refreshes must be 0…100") }
        guard keepalive.milliseconds == 0 || (1_000...3_600_000).contains(keepalive.milliseconds) else {
            throw CommandFailure("--keepalive must be 1s…1h, or 0 for none")
        }
        let keepalive = Duration.milliseconds(keepalive.milliseconds)
        guard keepalive == .zero || hold > 0 else { throw CommandFailure("--keepalive sends while the flows are held: give --hold too") }
        let measured = PhoneMetrics()
        var metricsServer: AdminServer?
        if let metrics {
            guard let (host, port) = NodeConfiguration.splitHostPort(metrics) else { throw CommandFailure("--metrics takes host:port, e.g. 127.0.0.1:9102") }
            metricsServer = try await measured.serve(host: host, port: port)
            say("metrics http://\(host):\(metricsServer!.port)/metrics")
        }
        let pem = try FileArguments.pem(ca, option: "--ca")
        let stack = SIPStack(group: MultiThreadedEventLoopGroup.singleton,
                             transportConfiguration: .init(idleTimeout: .hours(2), tlsClient: try SIPTLS.clientContext(trustedCAPEM: pem)))
        let target = try NodeAddress.resolve(edge, key: "--edge")
        let flows = LoadgenFlows()
        // A phone keeps one instance for its life (RFC 5626 §4.1), so a refresh or the retry
        // after the 401 refreshes its binding instead of adding one.
        let instances = (0..<phones).map { _ in UUID().uuidString.lowercased() }
        var failed = try await round("registered", phones: phones, concurrency: concurrency) { index in
            await register(index: index, instance: instances[index], stack: stack, target: target, flows: flows, cseq: 1)
        }
        for refresh in 0..<refreshes {
            failed += try await round("re-registered", phones: phones, concurrency: concurrency) { index in
                await register(index: index, instance: instances[index], stack: stack, target: target, flows: flows, cseq: 3 + 2 * refresh)
            }
        }
        let storm = try failoverTo.map { LoadgenStorm(target: try NodeAddress.resolve($0, key: "--failover-to"), phones: phones) }
        let keepalives = keepalive > .zero ? LoadgenKeepalives(metrics: measured) : nil
        stack.setHandlers(onRequest: { _ in }, onTransportEvent: { event in
            switch event {
            case .stun(let bytes, _): keepalives?.received(bytes)
            case .flowClosed(let flow, _):
                guard let storm, let index = flows.remove(connectionID: flow.connectionID) else { return }
                storm.closed(index)
            default: break
            }
        })
        if hold > 0 {
            say("holding \(stack.transport.connectionCount) flows for \(hold) s" + (keepalive > .zero ? ", a keepalive on each every \(keepalive)" : ""))
            let prefix = userPrefix
            let sending = keepalives.map { keepalives in
                Task { [flows, transport = stack.transport, hold, keepalive, phones] in
                    await keepalives.run(seconds: hold, interval: keepalive, phones: phones, user: { "\(prefix)\($0 + 1)" },
                                         flows: flows, transport: transport)
                }
            }
            defer { sending?.cancel() }
            if let storm {
                failed += await storm.run(seconds: hold, concurrency: concurrency) { index, target in
                    await register(index: index, instance: instances[index], stack: stack, target: target, flows: flows, cseq: 101)
                }
            } else {
                try await Task.sleep(for: .seconds(hold))
            }
        }
        await stack.transport.shutdown()
        await metricsServer?.stop()
        if failed > 0 { throw ExitCode(1) }
    }

    /// Runs `work` for every phone with `concurrency` in flight, prints the rate and latency, and
    /// returns how many failed.
    private func round(_ verb: String, phones: Int, concurrency: Int,
                       _ work: @escaping @Sendable (Int) async -> (Double?, String?)) async throws -> Int {
        let started = ContinuousClock.now
        var latencies: [Double] = []
        var failures: [String: Int] = [:]
        await withTaskGroup(of: (Double?, String?).self) { group in
            var next = 0
            for _ in 0..<min(concurrency, phones) {
                let index = next
                next += 1
                group.addTask { await work(index) }
            }
            while let (latency, failure) = await group.next() {
                if let latency { latencies.append(latency) }
                if let failure { failures[failure, default: 0] += 1 }
                if next < phones {
                    let index = next
                    next += 1
                    group.addTask { await work(index) }
                }
            }
        }
        let elapsed = (ContinuousClock.now - started).seconds
        latencies.sort()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        say("\(verb) \(latencies.count)/\(phones) phones in \(String(format: "%.2f", elapsed)) s: "
            + "\(String(format: "%.0f", Double(latencies.count) / elapsed)) registrations/s; "
            + "latency p50 \(String(format: "%.1f", percentile(0.5))) ms, p99 \(String(format: "%.1f", percentile(0.99))) ms")
        for (reason, count) in failures.sorted(by: { $0.value > $1.value }) { say("failed: \(count) × \(reason)") }
        return failures.values.reduce(0, +)
    }

    /// One phone: its TLS connection (new from its source address on the first round),
    /// REGISTER, 401, REGISTER → 200.
    private func register(index: Int, instance: String, stack: SIPStack, target: SocketAddress, flows: LoadgenFlows, cseq: Int) async -> (Double?, String?) {
        let started = ContinuousClock.now
        let user = "\(userPrefix)\(index + 1)"
        do {
            let flow: Flow
            if let open = flows.flow(index) {
                flow = open
            } else {
                let source = try SocketAddress(ipAddress: "127.0.0.\(10 + index % 200)", port: 0)
                flow = try await stack.transport.connect(.tls, to: target, serverHostname: "localhost", from: source, fresh: true)
                flows.set(index, flow)
            }
            let first = try await stack.send(request: request(user: user, instance: instance, cseq: cseq, flow: flow, authorization: nil), on: flow)
            var final = first
            if first.statusLine?.statusCode == 401,
               let authorization = DigestClient.authorization(for: request(user: user, instance: instance, cseq: cseq + 1, flow: flow, authorization: nil),
                                                              challenges: first.headers.lines(.wwwAuthenticate), username: user, password: password) {
                final = try await stack.send(request: request(user: user, instance: instance, cseq: cseq + 1, flow: flow, authorization: authorization), on: flow)
            }
            guard let line = final.statusLine, (200..<300).contains(line.statusCode) else {
                return (nil, final.statusLine.map { "\($0.statusCode) \($0.reasonPhrase)" } ?? "no answer")
            }
            return ((ContinuousClock.now - started).seconds * 1_000, nil)
        } catch {
            return (nil, "\(error)")
        }
    }

    private func request(user: String, instance: String, cseq: Int, flow: Flow, authorization: String?) -> SIPMessage {
        let local = "\(flow.local.ipAddress ?? "127.0.0.1"):\(flow.local.port ?? 0)"
        var message = SIPMessage.request(method: "REGISTER", uri: "sip:\(domain)")
        message.headers.append(.via, "SIP/2.0/TLS \(local);branch=z9hG4bK-lg-\(UInt64.random(in: 1...UInt64.max));rport")
        message.headers.append(.maxForwards, "70")
        message.headers.append(.from, "<sip:\(user)@\(domain)>;tag=lg\(user)")
        message.headers.append(.to, "<sip:\(user)@\(domain)>")
        message.headers.append(.callID, "lg-\(user)")
        message.headers.append(.cseq, "\(cseq) REGISTER")
        message.headers.append(.contact, "<sip:\(user)@\(local);transport=tls>;+sip.instance=\"<urn:uuid:\(instance)>\";"
                               + "x-cisco-mra-ha=AR_SK;x-cisco-reg-id=1")
        if let authorization { message.headers.append(.authorization, authorization) }
        message.headers.append(.contentLength, "0")
        return message
    }
}

/// Each phone's connection, kept for its re-registrations.
final class LoadgenFlows: Sendable {
    private let flows = NIOLockedValueBox<(byPhone: [Int: Flow], byConnection: [UInt64: Int])>(([:], [:]))

    func flow(_ index: Int) -> Flow? { flows.withLockedValue { $0.byPhone[index] } }

    func set(_ index: Int, _ flow: Flow) {
        flows.withLockedValue {
            $0.byPhone[index] = flow
            $0.byConnection[flow.connectionID] = index
        }
    }

    /// Forgets a closed connection and returns whose it was.
    func remove(connectionID: UInt64) -> Int? {
        flows.withLockedValue { flows in
            guard let index = flows.byConnection.removeValue(forKey: connectionID) else { return nil }
            flows.byPhone[index] = nil
            return index
        }
    }
}

/// A failover storm: phones whose connection closed re-register through another edge, at most
/// `concurrency` at a time; reports how many made it and when the last one did.
final class LoadgenStorm: Sendable {
    let target: SocketAddress
    let phones: Int
    private let state = NIOLockedValueBox<(queue: [Int], closed: Int, done: Int, failed: Int,
                                           firstClose: ContinuousClock.Instant?, lastDone: ContinuousClock.Instant?)>(([], 0, 0, 0, nil, nil))

    init(target: SocketAddress, phones: Int) {
        self.target = target
        self.phones = phones
    }

    private var failoverTarget: String {
        "\(target.ipAddress ?? "?"):\(target.port ?? 0)"
    }

    func closed(_ index: Int) {
        state.withLockedValue {
            $0.queue.append(index)
            $0.closed += 1
            $0.firstClose = $0.firstClose ?? .now
        }
    }

    /// Works the queue until every phone re-registered or `seconds` passed; returns the failures.
    func run(seconds: Int, concurrency: Int, _ register: @escaping @Sendable (Int, SocketAddress) async -> (Double?, String?)) async -> Int {
        let deadline = ContinuousClock.now + .seconds(seconds)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask { [self] in
                    while ContinuousClock.now < deadline {
                        let next = state.withLockedValue { state -> Int? in state.queue.isEmpty ? nil : state.queue.removeFirst() }
                        guard let index = next else {
                            if state.withLockedValue({ $0.done + $0.failed >= phones }) { return }
                            try? await Task.sleep(for: .milliseconds(5))
                            continue
                        }
                        let (latency, _) = await register(index, target)
                        state.withLockedValue {
                            if latency != nil { $0.done += 1; $0.lastDone = .now } else { $0.failed += 1 }
                        }
                    }
                }
            }
        }
        let summary = state.withLockedValue { $0 }
        if let first = summary.firstClose {
            let last = summary.lastDone.map { String(format: "%.0f", ($0 - first).seconds * 1_000) } ?? "–"
            say("failover storm: \(summary.closed) connections closed, \(summary.done) phones re-registered through \(failoverTarget), "
                + "\(summary.failed) failed; the last \(last) ms after the first close")
        }
        return summary.failed
    }
}

/// `host:port` arguments.
enum NodeAddress {
    static func resolve(_ text: String, key: String) throws -> SocketAddress {
        guard let (host, port) = NodeConfiguration.splitHostPort(text),
              let address = try? SocketAddress.makeAddressResolvingHost(host, port: port)
        else { throw CommandFailure("\(key) must be host:port, e.g. 127.0.0.1:5061") }
        return address
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
