import NIOCore
import SIPCore
import SIPStack
import SIPTransport

/// What ``ProxyRoleOwner`` needs of a role machine: the inputs every proxy role takes. The
/// edge's and the core's machines conform; each input returns the actions to perform.
protocol ProxyRoleMachine: Sendable {
    mutating func requestReceived(_ request: SIPMessage, flow: Flow) -> [ProxyAction]
    /// An answer to a forwarded request, at `now` (a core learns from it that a registrar is up).
    mutating func answerReceived(_ answer: ProxyForwarder.Answer, relay: Relay, now: NIODeadline) -> [ProxyAction]
    mutating func transportEvent(_ event: SIPTransportEvent, now: NIODeadline) -> [ProxyAction]
    mutating func timerFired(_ timer: ProxyTimer, now: NIODeadline) -> [ProxyAction]
    mutating func heartbeatAnswered(_ reply: SIPMessage?, to request: SIPMessage, on flow: Flow) -> [ProxyAction]
    mutating func connected(_ result: Result<Flow, SIPStackError>, to target: ConnectTarget, now: NIODeadline) -> [ProxyAction]
    mutating func settingsChanged(_ new: ProxySettings) -> [ProxyAction]
    mutating func refreshLinks() -> [ProxyAction]
    /// The round-trip time a `measureRoundTrip` action read.
    mutating func roundTripMeasured(_ rtt: Duration, on flow: Flow) -> [ProxyAction]
    /// The role stops: the connections it opened to close (the rest close with the transport).
    mutating func stop() -> [ProxyAction]
    var status: [StatusLine] { get }
    var currentAlarms: [Alarm] { get }
}

extension EdgeStateMachine: ProxyRoleMachine {
    mutating func transportEvent(_ event: SIPTransportEvent, now: NIODeadline) -> [ProxyAction] {
        switch event {
        case .flowOpened(let flow): flowOpened(flow)
        case .flowClosed(let flow, let reason): flowClosed(flow, reason: reason)
        case .stun(let bytes, let flow): stunReceived(bytes, flow: flow, now: now)
        case .ping(let flow): pingReceived(flow)
        case .sip, .malformed, .pong: []
        }
    }

    mutating func timerFired(_ timer: ProxyTimer, now: NIODeadline) -> [ProxyAction] {
        timerFired(timer)
    }

    mutating func connected(_ result: Result<Flow, SIPStackError>, to target: ConnectTarget, now: NIODeadline) -> [ProxyAction] {
        []  // B1: the edge never connects inward.
    }

    mutating func stop() -> [ProxyAction] {
        []  // The cores opened the links; they close with the transport.
    }
}

extension CoreStateMachine: ProxyRoleMachine {
    mutating func roundTripMeasured(_ rtt: Duration, on flow: Flow) -> [ProxyAction] {
        []  // The core measures its registrars' STUN answers itself.
    }

    mutating func transportEvent(_ event: SIPTransportEvent, now: NIODeadline) -> [ProxyAction] {
        switch event {
        case .stun(let bytes, let flow): stunReceived(bytes, flow: flow, now: now)
        case .flowClosed(let flow, let reason): flowClosed(flow, reason: reason, now: now)
        case .sip, .malformed, .ping, .pong, .flowOpened: []
        }
    }
}
