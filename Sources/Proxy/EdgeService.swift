import Logging
import NIOCore
import SIPStack
import Settings

/// The edge as a running role (SPEC B1, B2, B5, B11, B13, B19, B24): an ``EdgeStateMachine`` on
/// the stack's event loop and the owner that performs its actions.
public final class EdgeService: Sendable {
    /// How the edge behaves.
    public typealias Configuration = EdgeStateMachine.Configuration

    private let owner: ProxyRoleOwner<EdgeStateMachine>
    private let observation: Settings.Observation

    /// Creates the edge on a stack (listeners opened by the caller) and attaches its handlers.
    ///
    /// - Parameters:
    ///   - signer: signs and checks flow tokens (RFC 5626 §5.2); a random key by default.
    ///   - random: where tags and branches come from (seeded in tests).
    ///   - clock: the monotonic clock the machine's inputs are stamped with.
    public init(stack: SIPStack, settings: Settings, configuration: Configuration, signer: FlowTokenSigner = .init(),
                random: TokenGenerator = .system, logger: Logger? = nil,
                clock: @escaping @Sendable () -> NIODeadline = { .now() }) {
        var logger = logger ?? stack.logger
        logger[metadataKey: "node"] = "\(configuration.name)"
        let machine = EdgeStateMachine(configuration: configuration, settings: ProxySettings(settings), signer: signer, tokens: random)
        owner = ProxyRoleOwner(machine: machine, stack: stack, settings: settings, logger: logger, clock: clock)
        observation = owner.observe(settings)
        owner.attach()
    }

    /// Stops for good: no more setting changes, timers or inputs (the caller closes the transport).
    public func stop() async {
        observation.cancel()
        await owner.stop()
    }

    /// Sends this edge's settings over every link now (they go at once after a change anyway).
    public func refreshLinks() {
        owner.run { machine, _ in machine.refreshLinks() }
    }

    /// Alarms raised now: a keepalive setting that differs from a linked core's (SPEC B24).
    public var alarms: [Alarm] {
        get async { await owner.read(\.currentAlarms) ?? [] }
    }

    /// Every alarm raised and cleared since the start, and acknowledgements (*Status > Alarms*).
    public var alarmLedger: AlarmLedger { owner.alarmLedger }

    /// `xstatus` lines: registrations, flows, links, STUN keepalives answered, alarms.
    public var status: [StatusLine] {
        get async { await owner.read(\.status) ?? [] }
    }

    /// The registrations through this edge now (`xstatus Registrations`).
    public var registrations: [RegistrationListing] {
        get async { await owner.readNow { $0.registrations(now: $1) } ?? [] }
    }

    /// The calls through this edge (`xstatus Calls`).
    public var calls: CallTable { owner.calls }
}
