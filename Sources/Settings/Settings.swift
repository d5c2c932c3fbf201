import NIOConcurrencyHelpers

/// A node's current settings: the catalogue's defaults, overridden by what operators set, kept
/// in a ``SettingsStore`` and told to observers as soon as they change — no restart (SPEC B21).
public final class Settings: Sendable {
    /// A change as observers see it.
    public struct Change: Equatable, Sendable {
        /// The setting.
        public let path: SettingPath
        /// Its value before.
        public let old: SettingValue
        /// Its value now.
        public let new: SettingValue

        /// A change of `path` from `old` to `new`.
        public init(path: SettingPath, old: SettingValue, new: SettingValue) {
            self.path = path
            self.old = old
            self.new = new
        }
    }

    /// The settings this node knows.
    public let catalog: SettingsCatalog
    private let store: any SettingsStore
    private let state: NIOLockedValueBox<State>
    /// Held across storing and publishing a value, so the store and memory agree on the last write.
    private let writeLock = NIOLock()

    private struct State {
        var values: [SettingPath: SettingValue]
        var observers: [Int: @Sendable (Change) -> Void] = [:]
        var nextObserver = 0
    }

    /// Loads the stored values. A stored value the catalogue no longer accepts (a setting
    /// removed, or its range narrowed) is left in the store and the default is used.
    public init(catalog: SettingsCatalog = .standard, store: any SettingsStore) throws(SettingsError) {
        self.catalog = catalog
        self.store = store
        let stored: [String: String]
        do {
            stored = try store.load()
        } catch {
            throw .storage("\(error)")
        }
        var values: [SettingPath: SettingValue] = [:]
        for definition in catalog.definitions {
            let text = stored[definition.path.description.lowercased()]
            values[definition.path] = text.flatMap(definition.kind.value(parsing:)) ?? definition.defaultValue
        }
        state = NIOLockedValueBox(State(values: values))
    }

    /// The current value of a setting.
    public func value(_ path: SettingPath) throws(SettingsError) -> SettingValue {
        let definition = try catalog.definition(path)
        return state.withLockedValue { $0.values[definition.path] } ?? definition.defaultValue
    }

    /// Whether an On/Off setting is On (`false` for a path that is not an On/Off setting).
    public func isOn(_ path: SettingPath) -> Bool {
        (try? value(path))?.isOn ?? false
    }

    /// The current values at or under `path`, in catalogue order.
    public func values(under path: SettingPath) throws(SettingsError) -> [(path: SettingPath, value: SettingValue)] {
        let definitions = try catalog.definitions(under: path)
        return state.withLockedValue { state in
            definitions.map { ($0.path, state.values[$0.path] ?? $0.defaultValue) }
        }
    }

    /// Changes a setting: checks the value, stores it, then tells the observers. Nothing changes
    /// when the value is refused or the store fails.
    @discardableResult
    public func set(_ path: SettingPath, to text: String) throws(SettingsError) -> Change {
        let definition = try catalog.definition(path)
        guard let new = definition.kind.value(parsing: text) else {
            throw .invalidValue(definition.path, value: text, allowed: definition.kind.allowedValues)
        }
        writeLock.lock()
        do {
            try store.save(path: definition.path.description.lowercased(), value: new.description)
        } catch {
            writeLock.unlock()
            throw .storage("\(error)")
        }
        let (change, observers) = state.withLockedValue { state in
            let old = state.values[definition.path] ?? definition.defaultValue
            state.values[definition.path] = new
            return (Change(path: definition.path, old: old, new: new), Array(state.observers.values))
        }
        writeLock.unlock()
        if change.old != change.new { observers.forEach { $0(change) } }
        return change
    }

    /// Runs an `xconfiguration` command and returns the lines to print: the values read, or the
    /// value set.
    public func run(_ command: XConfigurationCommand) throws(SettingsError) -> [String] {
        if let value = command.value {
            let change = try set(command.path, to: value)
            return [XConfigurationCommand.line(change.path, change.new)]
        }
        return try values(under: command.path).map { XConfigurationCommand.line($0.path, $0.value) }
    }

    /// Calls `handler` after every change of a value, on the thread that changed it, until the
    /// returned observation is cancelled.
    public func observe(_ handler: @escaping @Sendable (Change) -> Void) -> Observation {
        let id = state.withLockedValue { state in
            state.nextObserver += 1
            state.observers[state.nextObserver] = handler
            return state.nextObserver
        }
        return Observation { [weak self] in self?.state.withLockedValue { _ = $0.observers.removeValue(forKey: id) } }
    }

    /// A registration of an observer; `cancel()` ends it.
    public struct Observation: Sendable {
        let onCancel: @Sendable () -> Void

        /// Stops the observer being called.
        public func cancel() {
            onCancel()
        }
    }
}

extension SettingPath {
    /// `SIP Advanced StunKeepAliveForRegisteredPathEnabled` (SPEC B11, B21).
    public static let stunKeepAliveEnabled = SettingPath(parsing: "SIP Advanced StunKeepAliveForRegisteredPathEnabled")
    /// `SIP Advanced SipPathHeaders` (SPEC B6).
    public static let sipPathHeaders = SettingPath(parsing: "SIP Advanced SipPathHeaders")
    /// `SIP Advanced StunKeepAliveInterval`, in milliseconds (SPEC B12).
    public static let stunKeepAliveInterval = SettingPath(parsing: "SIP Advanced StunKeepAliveInterval")
    /// `SIP Advanced StunKeepAliveTimeout`, in milliseconds (SPEC B12).
    public static let stunKeepAliveTimeout = SettingPath(parsing: "SIP Advanced StunKeepAliveTimeout")
    /// `SystemUnit Maintenance Mode` (SPEC B2).
    public static let maintenanceMode = SettingPath(parsing: "SystemUnit Maintenance Mode")
    /// `SIP Advanced OutboundFlowTimer` (seconds).
    public static let outboundFlowTimer = SettingPath(parsing: "SIP Advanced OutboundFlowTimer")
}
