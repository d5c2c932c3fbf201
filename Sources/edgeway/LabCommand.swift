import ArgumentParser
import EdgewayNode
import Foundation
import Logging
import ServiceLifecycle

/// `edgeway lab`: the whole deployment on this machine — registrar, two cores, two edges — with
/// embedded defaults, simulated phones, and a failover scenario with a report.
struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Run a registrar, two cores and two edges on loopback; optionally phones and a failover scenario.",
        discussion: """
            Data (SQLite, the generated CA) lives under --data and is reused by the next start.
            edgeway lab --phones 20                          phones register and keep alive
            edgeway lab --scenario failover --phones 200 --keepalive 1s --timeout 300ms
            The scenario black-holes edge-1 (or kills it: --fault kill), waits until every phone
            moved to edge-2, heals edge-1, prints percentiles and exits 1 if a phone was lost or a
            budget was exceeded. From another terminal: edgeway lab fail edge-1 --mode blackhole
            --lab DATA, edgeway lab heal edge-1 --lab DATA.
            edgeway lab --processes --scenario chaos --phones 300 --duration 3m
            Each node runs as its own edgeway serve process (logs in DATA/NODE/node.log), so a kill
            is a real kill -9. The chaos scenario kills and restarts random nodes and black-holes
            edges, one fault at a time, then waits until every phone is registered with exactly one
            binding; it prints what it did and exits 1 if a phone was lost.
            edgeway lab --processes --registrars 2 --store postgres --scenario registrar-loss --phones 500 --keepalive 1s --timeout 500ms
            Two registrars (registrar-1, registrar-2) share bindings in a PostgreSQL of the lab's
            own under DATA/postgres (or --store postgres://USER@HOST:PORT/DB). The scenario kills
            registrar-1, places calls, restarts it, kills registrar-2 so that registrar-1 serves
            alone, and exits 1 if a phone failed over, a binding was lost or a call went unanswered.
            """,
        subcommands: [Fault.self, Heal.self]
    )

    enum Scenario: String, ExpressibleByArgument, CaseIterable { case failover, chaos, registrarLoss = "registrar-loss" }

    /// `edgeway lab fail NODE --mode kill|blackhole|pause` and `edgeway lab heal NODE`, from another terminal.
    struct Fault: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fail",
            abstract: "Inject a fault into a running lab's node: kill it, or black-hole (or pause) an edge.",
            discussion: "Nodes: registrar (registrar-1 … registrar-N with --registrars N), core-1, core-2, edge-1, edge-2. pause makes an edge answer nothing, as black-hole does."
        )
        @Argument(help: "The node.") var node: String
        @Option(help: "kill, blackhole or pause.") var mode = "kill"
        @Option(help: "The running lab's data folder (as edgeway lab --data took it); --data DIR says the same.")
        var lab: String?
        /// `--data` after the subcommand is the lab command's own option: read it from there.
        @ParentCommand var parent: LabCommand

        func run() async throws {
            guard ["kill", "blackhole", "pause"].contains(mode) else { throw CommandFailure("--mode must be kill, blackhole or pause") }
            try await LabCommand.command("fail \(node) \(mode)", data: lab ?? parent.data)
        }
    }

    struct Heal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "heal", abstract: "Restart a killed node, or let a black-holed edge pass again.")
        @Argument(help: "The node.") var node: String
        @Option(help: "The running lab's data folder (as edgeway lab --data took it); --data DIR says the same.")
        var lab: String?
        /// `--data` after the subcommand is the lab command's own option: read it from there.
        @ParentCommand var parent: LabCommand

        func run() async throws {
            try await LabCommand.command("heal \(node)", data: lab ?? parent.data)
        }
    }

    /// Sends an xcommand to the running lab's admin API.
    static func command(_ text: String, data: String) async throws {
        let folder = URL(fileURLWithPath: data)
        guard let base = try? String(contentsOf: folder.appendingPathComponent("lab-admin.url"), encoding: .utf8),
              let token = try? String(contentsOf: folder.appendingPathComponent("lab-admin-token"), encoding: .utf8),
              let url = URL(string: "\(base)/api/xcommand")
        else { throw CommandFailure("no running lab under \(data) (start one with edgeway lab --data \(data), or give --lab DIR)") }
        try await AdminTarget.send(url, base: base, token: token.trimmingCharacters(in: .whitespacesAndNewlines), text: text)
    }

    @Option(help: "The data folder.") var data = "./.edgeway-lab"
    @Option(help: "The first of the lab's ports: registrar TCP at it (more registrars at +20 … +24); phones' TLS to the edges at +1 and +2; cores at +10 and +11; the lab's PostgreSQL at +30; the edges' own TLS behind the fault relays at +101 and +102; traversal at +1941 and +1942. Keep the range below 32768, out of the system's ephemeral ports.")
    var basePort = 15_060
    @Option(help: "Simulated phones (phone1 … phoneN), 0…2000.") var phones = 0
    @Option(help: "Keepalive interval for cores and phones, e.g. 30s, 1s, 500ms (plain numbers: ms).") var keepalive = Milliseconds(30_000)
    @Option(help: "Keepalive timeout, e.g. 3s, 300ms (plain numbers: ms).") var timeout = Milliseconds(3_000)
    @Option(help: "Run a scenario and exit: failover, chaos or registrar-loss.") var scenario: Scenario?
    @Option(help: "Registrars, 1…6; more than one share their bindings and need --store postgres or a URL.") var registrars = 1
    @Option(help: "The registrars' store: sqlite (files under --data), postgres (a PostgreSQL of the lab's own under DATA/postgres, from Debian's postgresql package) or postgres://USER[:PASSWORD]@HOST:PORT/DATABASE.")
    var store = "sqlite"
    @Flag(help: "Run each node as its own edgeway serve process (a kill fault is then kill -9).") var processes = false
    @Option(help: "How long the chaos scenario injects faults, e.g. 3m, 90s (plain numbers: ms).") var duration = Milliseconds(180_000)
    @Option(help: "The chaos scenario's random seed (printed; give it again to repeat a run).") var seed: UInt64?
    @Option(help: "How the scenario fails edge-1: blackhole or kill.") var fault = "blackhole"
    @Option(help: "The registrar's digest algorithms, most preferred first: SHA-256,MD5 (default) or MD5 for old clients such as baresip 1.0.")
    var digest = "SHA-256,MD5"

    func run() async throws {
        let interval = try Self.bounded(keepalive, option: "--keepalive")
        let wait = try Self.bounded(timeout, option: "--timeout")
        guard (0...2_000).contains(phones) else { throw CommandFailure("--phones must be 0…2000 (more: edgeway loadgen in its own process)") }
        guard let mode = LabDeployment.FaultMode(rawValue: fault) else { throw CommandFailure("--fault must be blackhole or kill") }
        var options = LabDeployment.Options()
        options.data = data
        options.basePort = basePort
        options.keepalive = .milliseconds(interval)
        options.timeout = .milliseconds(wait)
        options.phoneUsers = phones
        guard store == "sqlite" || store == "postgres" || store.hasPrefix("postgres://") || store.hasPrefix("postgresql://") else {
            throw CommandFailure("--store must be sqlite, postgres or a postgres://USER@HOST:PORT/DATABASE URL")
        }
        guard (1...6).contains(registrars) else { throw CommandFailure("--registrars must be 1…6") }
        guard registrars == 1 || store != "sqlite" else { throw CommandFailure("--registrars \(registrars) needs --store postgres (registrars share bindings only in PostgreSQL)") }
        if let scenario, phones == 0 { throw CommandFailure("the \(scenario.rawValue) scenario needs --phones N") }
        if scenario == .registrarLoss, registrars < 2 || phones < 6 {
            throw CommandFailure("the registrar-loss scenario needs --registrars 2 (or more, with --store postgres) and --phones 6 or more")
        }
        options.registrars = registrars
        options.store = store
        let algorithms = digest.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        guard !algorithms.isEmpty, algorithms.allSatisfy({ ["SHA-256", "MD5"].contains($0) }), Set(algorithms).count == algorithms.count else {
            throw CommandFailure("--digest must list SHA-256 and/or MD5, e.g. SHA-256,MD5 or MD5")
        }
        options.digestAlgorithms = algorithms
        if processes {
            options.executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        }
        let lab = try await LabDeployment.start(options)
        let admin = try await lab.startAdmin()
        say("edgeway lab ready: \(lab.nodeNames.joined(separator: ", ")) on 127.0.0.1; data \(data)")
        for row in lab.endpoints {
            say("  " + row.name.padding(toLength: 13, withPad: " ", startingAt: 0) + row.what.padding(toLength: 16, withPad: " ", startingAt: 0) + row.address)
        }
        say("users (domain example.com): " + LabDeployment.demoUsers.map { "\($0.0) / \($0.1)" }.joined(separator: ", ")
            + (phones > 0 ? ", phone1…phone\(phones) / \(LabDeployment.phonePassword)" : ""))
        say("CA for phones: \(lab.caPath)")
        if let entry = admin.webURL {
            say("web UI: \(entry) links every node's; log in as \(LabDeployment.labAdmin) / \(lab.adminPassword ?? "?") "
                + "(the first password, kept in \(data)/admin-password; the browser must trust the lab CA, or accept its warning)")
        }
        say("faults: swift run edgeway lab fail edge-1 --mode blackhole --lab \(data); swift run edgeway lab heal edge-1 --lab \(data)")
        say("next: swift run edgeway phone --user alice --password alice-secret --edge \(lab.edgeAddresses[0]) --edge \(lab.edgeAddresses[1]) --ca \(lab.caPath)")
        say("      swift run edgeway xstatus --data \(data)/edge-1")
        say("      swift run edgeway xstatus registrations --user alice --data \(data)/\(lab.registrarNames[0])   (any node: --data \(data)/NAME)")
        say("      swift run edgeway xstatus calls --data \(data)/core-1")
        say("      swift run edgeway xconfiguration SIP Advanced StunKeepAliveForRegisteredPathEnabled: Off --data \(data)/edge-1")
        var simulated: LabPhones?
        if phones > 0 {
            simulated = try await LabPhones(count: phones, lab: lab, keepalive: interval, timeout: wait)
            say("\(phones) phones registered: \(simulated!.registered(through: lab.edgeAddresses[0])) via edge-1, "
                + "\(simulated!.registered(through: lab.edgeAddresses[1])) via edge-2")
        }
        if scenario == .chaos {
            guard let simulated else { throw CommandFailure("the chaos scenario needs --phones N") }
            let length = try Self.bounded(duration, option: "--duration")
            let started = ContinuousClock.now
            // Every 2 s rather than at each change: hundreds of phones moving make a line each.
            let timeline = simulated.watch(lab: lab, every: .seconds(2)) { line in say("\(PhoneTimeline.stamp(since: started)) \(line)") }
            let outcome: Result<ChaosReport, any Error>
            do {
                outcome = .success(try await simulated.chaos(
                    lab: lab, duration: .milliseconds(length), settle: .milliseconds(2 * (interval + wait)) + .seconds(60),
                    seed: seed ?? UInt64.random(in: 1...UInt64(UInt32.max))) { say("\(PhoneTimeline.stamp(since: started)) \($0)") })
            } catch {
                outcome = .failure(error)
            }
            // Whatever happened, the phones, the admin API and every node stop.
            timeline.cancel()
            await simulated.stop()
            await admin.stop()
            await lab.shutdown()
            if try !outcome.get().passed { throw ExitCode(1) }
            return
        }
        if scenario == .registrarLoss, let simulated {
            let outcome: Result<RegistrarLossReport, any Error>
            let started = ContinuousClock.now
            do {
                outcome = .success(try await simulated.registrarLoss(lab: lab, hold: .milliseconds(3 * (interval + wait))) {
                    say("\(PhoneTimeline.stamp(since: started)) \($0)")
                })
            } catch {
                outcome = .failure(error)
            }
            // Whatever happened, the phones, the admin API, every node and the database stop.
            await simulated.stop()
            await admin.stop()
            await lab.shutdown()
            if try !outcome.get().passed { throw ExitCode(1) }
            return
        }
        if scenario == .failover {
            guard let simulated else { throw CommandFailure("the failover scenario needs --phones N") }
            let report = try await simulated.failover(lab: lab, node: "edge-1", mode: mode, seconds: Int((interval + wait) / 1_000) + 60)
            say(report.table)
            // SPEC B18: detected within interval + timeout (plus scheduling slack).
            let detectBudget = Double(interval + wait + 1_000)
            let detectWorst = report.detect.last ?? 0
            say("budget: detected within \(Int(detectBudget)) ms: \(detectWorst <= detectBudget ? "met" : "exceeded") (worst \(Int(detectWorst)) ms)")
            await simulated.stop()
            await admin.stop()
            await lab.shutdown()
            if report.lost > 0 || detectWorst > detectBudget { throw ExitCode(1) }
            return
        }
        // A live timeline of where the phones are registered, printed when it changes.
        let started = ContinuousClock.now
        let timeline = simulated?.watch(lab: lab) { line in say("\(PhoneTimeline.stamp(since: started)) \(line)") }
        // SIGTERM or Ctrl-C: the phones stop, every node drains (within 5 s each), then all close.
        let logger = Logger(label: "edgeway.lab")
        let service = NodeService(name: "lab", logger: logger, drain: { [simulated] limit in
            timeline?.cancel()
            say("edgeway lab stopping")
            await simulated?.stop()
            await admin.stop()
            return await lab.drain(within: limit)
        }, shutdown: lab.shutdown)
        try await ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        say("edgeway lab stopped")
    }

    /// A lab duration in milliseconds, 50 ms … 60 min.
    static func bounded(_ duration: Milliseconds, option: String) throws -> Int64 {
        guard (50...3_600_000).contains(duration.milliseconds) else {
            throw CommandFailure("\(option) must be 50ms…60m, e.g. 3m, 30s or 300ms")
        }
        return duration.milliseconds
    }
}
