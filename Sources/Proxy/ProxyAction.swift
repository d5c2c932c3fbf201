import NIOCore
import SIPCore
import SIPStack
import SIPTransport

/// What an edge's or a core's machine asks its owner to do. Actions returned for a request
/// (``respond(_:)``, ``forward(_:to:relay:)``, ``cancelForwarded(ok:unknown:)``) concern the
/// request of the input that returned them.
public enum ProxyAction: Sendable {
    /// Answer the request (RFC 3261 §16.7, or this node's own answer).
    case respond(SIPMessage)
    /// Forward the request statefully to the next hop; hand every answer back to the machine
    /// with `relay` (``EdgeStateMachine/answerReceived(_:relay:)``).
    case forward(SIPMessage, to: NextHop, relay: Relay)
    /// A CANCEL: cancel the INVITE it names downstream and answer `ok`, or `unknown` (481)
    /// when no such INVITE is being forwarded (RFC 3261 §16.10).
    case cancelForwarded(ok: SIPMessage, unknown: SIPMessage)
    /// Write STUN bytes on a flow (a Binding success to a phone, a keepalive to a registrar).
    case sendSTUN(ByteBuffer, on: Flow)
    /// Send a traversal heartbeat (an OPTIONS carrying ``TraversalInfo``) on a link; hand the
    /// answer, or `nil` when none came within `within`, back with `heartbeatAnswered`.
    case sendHeartbeat(SIPMessage, on: Flow, within: Duration)
    /// Open a connection to a peer; hand the flow or the error back with `connected`.
    case connect(ConnectTarget)
    /// Close a connection.
    case close(Flow)
    /// Read the kernel's smoothed round-trip time of a TCP or TLS flow (`TCP_INFO`); tell the
    /// machine `roundTripMeasured` (the keepalive RTT *Status > Registrations* shows).
    case measureRoundTrip(Flow)
    /// Start (or restart) a timer; tell the machine `timerFired` when it fires.
    case startTimer(ProxyTimer, after: Duration)
    /// Cancel a timer.
    case cancelTimer(ProxyTimer)
    /// An alarm is raised now (SPEC B24).
    case raiseAlarm(Alarm)
    /// An alarm is cleared now.
    case clearAlarm(Alarm)
    /// A state change worth logging.
    case log(RoleEvent)
    /// Count an intrusion-protection event against the source of the request (SPEC B28); the
    /// transport counts it only when the request came in on a phones' listener.
    case recordIntrusion(IntrusionCategory)
}

/// Where a request goes next.
public enum NextHop: Sendable, Equatable {
    /// An open flow (a traversal link, a phone's connection, a registrar connection).
    case flow(Flow)
    /// An address to connect to first (reusing a connection already open to it).
    case address(SIPTransportKind, host: String, port: Int)
    /// A configured peer to connect to first, as ``ConnectTarget`` names it (its address and
    /// TLS server name come from the node's configuration).
    case peer(ConnectTarget)
}

/// A peer an owner connects to for its machine.
public enum ConnectTarget: Sendable, Hashable {
    /// The traversal link to the core's n-th configured edge (SPEC B1).
    case edgeLink(Int)
    /// A registrar, by name, for its keepalive connection (SPEC B12).
    case registrar(String)
}

/// The timers of the edge and the core.
public enum ProxyTimer: Sendable, Hashable {
    /// Edge: the link with this connection id heard nothing for a heartbeat interval plus the
    /// link timeout: it is down (SPEC B1).
    case linkSilent(UInt64)
    /// Core: time for the next heartbeat on the n-th link, or to reconnect it.
    case link(Int)
    /// Core: time for the next keepalive (or its timeout) towards a registrar (SPEC B12).
    case registrarKeepalive(String)
}

/// What the machine needs to relay the answers of a forwarded request.
public enum Relay: Sendable {
    /// Relay answers unchanged; answer `request` from this node when none comes.
    case plain(request: SIPMessage)
    /// A request on its way to a phone's flow (the edge's phone connection, the core's link to
    /// that edge): when the connection closes under it, the flow failed and the answer is
    /// `430 Flow Failed` (RFC 5626 §5.3), so the registrar tries another flow of the phone.
    case towardsPhone(request: SIPMessage)
    /// Edge: a phone's REGISTER sent over a traversal link (SPEC B4, B13).
    case edgeRegister(request: SIPMessage, phone: Flow, link: UInt64)
    /// Core: a REGISTER sent to a registrar for the edge on the n-th link (SPEC B4, B6).
    case coreRegister(request: SIPMessage, registrar: String, link: Int?)

    /// The answer for a request towards a phone whose connection closed or failed under it:
    /// `430 Flow Failed` (RFC 5626 §5.3); `nil` otherwise.
    func flowFailed(_ answer: ProxyForwarder.Answer, responder: inout ProxyResponder) -> SIPMessage? {
        guard case .towardsPhone(let request) = self, case .failed(let error) = answer,
              error.code == .connectionClosed || error.code == .transportFailed, request.requestLine?.method != "ACK"
        else { return nil }
        return responder.answer(request, 430, "Flow Failed (\(error.detail))")
    }

    /// The request whose answers these are.
    public var request: SIPMessage {
        switch self {
        case .plain(let request), .towardsPhone(let request), .edgeRegister(let request, _, _), .coreRegister(let request, _, _): request
        }
    }
}

/// A state change a machine reports for its owner to log (STYLE 15).
public struct RoleEvent: Sendable, Equatable {
    /// How much it matters.
    public enum Level: Sendable, Equatable {
        case debug, info, warning
    }

    /// Its level.
    public var level: Level
    /// What happened, in words (`link to core-1 down: no heartbeat for 8 s`).
    public var message: String
    /// Metadata: `peer`, `flow`, `registrar`, `cause`.
    public var metadata: [String: String]

    /// Creates an event.
    public init(_ level: Level, _ message: String, _ metadata: [String: String] = [:]) {
        self.level = level
        self.message = message
        self.metadata = metadata
    }
}
