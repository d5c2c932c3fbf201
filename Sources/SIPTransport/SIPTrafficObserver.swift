import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Sees every SIP and STUN message a ``SIPTransportLayer`` receives and sends, for the message
/// log (SPEC B26) and the diagnostic capture (SPEC B25). Called on event loops and senders'
/// threads, so it must not block; it serialises its own work.
public protocol SIPTrafficObserver: AnyObject, Sendable {
    /// Something arrived: ``SIPTransportEvent/sip(_:_:)``, ``SIPTransportEvent/stun(_:_:)``,
    /// ``SIPTransportEvent/malformed(_:raw:_:)``, or a flow opened or closed.
    func received(_ event: SIPTransportEvent)
    /// Bytes left on a flow: one SIP message, a STUN message or a CRLF keepalive.
    func sent(_ bytes: ByteBuffer, on flow: Flow)
}

/// The observer slot of a transport layer. With none set it costs one relaxed atomic load per
/// message: no formatting, no allocation (issue "Off means no work").
final class SIPTrafficTap: Sendable {
    private let active = Atomic<Bool>(false)
    private let observer = NIOLockedValueBox<(any SIPTrafficObserver)?>(nil)

    func set(_ new: (any SIPTrafficObserver)?) {
        observer.withLockedValue { $0 = new }
        active.store(new != nil, ordering: .releasing)
    }

    @inline(__always)
    func received(_ event: SIPTransportEvent) {
        guard active.load(ordering: .relaxed) else { return }
        observer.withLockedValue { $0 }?.received(event)
    }

    @inline(__always)
    func sent(_ bytes: ByteBuffer, on flow: Flow) {
        guard active.load(ordering: .relaxed) else { return }
        observer.withLockedValue { $0 }?.sent(bytes, on: flow)
    }
}

extension SIPTransportLayer {
    /// Hands every message received and sent to `observer` from now on (`nil`: to nobody).
    public func observe(_ observer: (any SIPTrafficObserver)?) {
        tap.set(observer)
    }

    /// Whether `flow` is a connection accepted on a ``ListenerAudience/peers`` listener (a core's
    /// traversal link, authenticated by its certificate).
    public func isPeerConnection(_ flow: Flow) -> Bool {
        flow.transport != .udp && state.withLockedValue { $0.peerConnections.contains(flow.connectionID) }
    }

    /// Whether this node opened the TCP or TLS connection of `flow` (it is the client); `false`
    /// for connections it accepted, for UDP and for closed connections.
    public func opened(_ flow: Flow) -> Bool {
        state.withLockedValue { $0.outgoing.values.contains(flow.connectionID) }
    }
}
