import Logging
import NIOCore
import SIPCore
import SIPStack
import SIPTransport
import Settings

/// The core as a running role (SPEC B1, B6, B12, B19, B24): a ``CoreStateMachine`` on the
/// stack's event loop and the owner that performs its actions — links to every edge, keepalives
/// to every registrar, requests forwarded both ways.
public final class CoreService: Sendable {
    /// The header by which the core tells the edge which registrar holds a phone's binding.
    public static let registrarHeader = CoreStateMachine.registrarHeader
    /// A registrar the core forwards to.
    public typealias RegistrarTarget = CoreStateMachine.RegistrarTarget
    /// How the core behaves.
    public typealias Configuration = CoreStateMachine.Configuration

    private let owner: ProxyRoleOwner<CoreStateMachine>
    private let observation: Settings.Observation

    /// Creates the core on a stack whose SIP listener is already open; ``start()`` opens the links.
    ///
    /// - Parameters:
    ///   - random: where tags, branches and STUN transaction ids come from (seeded in tests).
    ///   - clock: the monotonic clock the machine's inputs are stamped with.
    public init(stack: SIPStack, settings: Settings, configuration: Configuration, random: TokenGenerator = .system,
                logger: Logger? = nil, clock: @escaping @Sendable () -> NIODeadline = { .now() }) {
        var logger = logger ?? stack.logger
        logger[metadataKey: "node"] = "\(configuration.name)"
        let machine = CoreStateMachine(configuration: configuration, settings: ProxySettings(settings), tokens: random, now: clock())
        owner = ProxyRoleOwner(machine: machine, stack: stack, settings: settings, logger: logger, clock: clock) { target in
            switch target {
            case .edgeLink(let index):
                guard configuration.edges.indices.contains(index) else { return nil }
                return (.tls, configuration.edges[index], configuration.edgeServerName)
            case .registrar(let name):
                guard let registrar = configuration.registrars.first(where: { $0.name == name }) else { return nil }
                return (registrar.transport, registrar.address, registrar.serverName)
            }
        }
        observation = owner.observe(settings)
        owner.attach()
    }

    /// Opens the traversal links and starts the registrar keepalives.
    public func start() {
        owner.run { machine, _ in machine.start() }
    }

    /// Stops for good: the links are closed (un-linked), no timer or input runs any more (the
    /// caller closes the transport).
    public func stop() async {
        observation.cancel()
        await owner.stop()
    }

    /// Sends the core's information over every link now.
    public func refreshLinks() {
        owner.run { machine, _ in machine.refreshLinks() }
    }

    /// Probes every registrar at once (the next keepalive is sent now).
    public func probeRegistrars() {
        owner.run { machine, now in machine.probeRegistrars(now: now) }
    }

    /// Waits until every link is up and every registrar answers its keepalive, at most `limit`:
    /// `true` when they did (the lab waits for this before it says it is ready).
    public func linked(within limit: Duration) async -> Bool {
        await owner.wait(until: { $0.isLinked }, within: limit)
    }

    /// Alarms raised now: an edge whose keepalive setting differs from this core's (SPEC B24).
    public var alarms: [Alarm] {
        get async { await owner.read(\.currentAlarms) ?? [] }
    }

    /// Every alarm raised and cleared since the start, and acknowledgements (*Status > Alarms*).
    public var alarmLedger: AlarmLedger { owner.alarmLedger }

    /// `xstatus` lines: links, registrars and their keepalive health, alarms.
    public var status: [StatusLine] {
        get async { await owner.read(\.status) ?? [] }
    }

    /// The registrations through this core now (`xstatus Registrations`).
    public var registrations: [RegistrationListing] {
        get async { await owner.readNow { $0.registrations(now: $1) } ?? [] }
    }

    /// The calls through this core (`xstatus Calls`).
    public var calls: CallTable { owner.calls }
}
