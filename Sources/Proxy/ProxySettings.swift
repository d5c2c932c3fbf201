import Settings

/// The settings an edge's or a core's machine decides with, as a value (SPEC B2, B6, B11, B12,
/// B13, B21): the owner reads them from ``Settings`` at start and after every change and hands
/// them to the machine, which never reads the store itself.
public struct ProxySettings: Sendable, Equatable {
    /// `SIP Advanced StunKeepAliveForRegisteredPathEnabled` (default On).
    public var keepaliveEnabled: Bool
    /// `SystemUnit Maintenance Mode` (default Off): new registrations and calls get 503.
    public var maintenance: Bool
    /// `SIP Advanced SipPathHeaders` (default Off): the core adds Path instead of rewriting Contact.
    public var pathHeaders: Bool
    /// `SIP Advanced OutboundFlowTimer`, seconds (default 120): the Flow-Timer of RFC 5626 phones.
    public var flowTimerSeconds: Int
    /// `SIP Advanced StunKeepAliveInterval` (default 30 s): the core's keepalive to each registrar.
    public var keepaliveInterval: Duration
    /// `SIP Advanced StunKeepAliveTimeout` (default 3 s): how long a keepalive answer may take.
    public var keepaliveTimeout: Duration

    /// Creates settings; every default is the catalogue's.
    public init(keepaliveEnabled: Bool = true, maintenance: Bool = false, pathHeaders: Bool = false, flowTimerSeconds: Int = 120,
                keepaliveInterval: Duration = .seconds(30), keepaliveTimeout: Duration = .seconds(3)) {
        self.keepaliveEnabled = keepaliveEnabled
        self.maintenance = maintenance
        self.pathHeaders = pathHeaders
        self.flowTimerSeconds = flowTimerSeconds
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
    }

    /// The current values of a node's settings.
    public init(_ settings: Settings) {
        func integer(_ path: SettingPath, _ fallback: Int) -> Int { (try? settings.value(path))?.integer ?? fallback }
        self.init(keepaliveEnabled: settings.isOn(.stunKeepAliveEnabled), maintenance: settings.isOn(.maintenanceMode),
                  pathHeaders: settings.isOn(.sipPathHeaders), flowTimerSeconds: integer(.outboundFlowTimer, 120),
                  keepaliveInterval: .milliseconds(integer(.stunKeepAliveInterval, 30_000)),
                  keepaliveTimeout: .milliseconds(integer(.stunKeepAliveTimeout, 3_000)))
    }
}
