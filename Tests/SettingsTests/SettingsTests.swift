import Foundation
import Settings
import Testing

@Suite("xConfiguration settings")
struct SettingsTests {
    @Test func defaultsAreTheSpecOnes() throws {
        let settings = try Settings(store: InMemorySettingsStore())
        #expect(try settings.value(.stunKeepAliveEnabled) == .onOff(true))
        #expect(try settings.value(.sipPathHeaders) == .onOff(false))
        #expect(try settings.value(.stunKeepAliveInterval) == .integer(30_000))
        #expect(try settings.value(.stunKeepAliveTimeout) == .integer(3_000))
        #expect(try settings.value(.maintenanceMode) == .onOff(false))
    }

    @Test func commandsAreCaseInsensitiveAndAnswerInTheOriginalForm() throws {
        let settings = try Settings(store: InMemorySettingsStore())
        let set = try settings.run(XConfigurationCommand(parsing: "sip ADVANCED stunkeepaliveforregisteredpathenabled:  off "))
        #expect(set == ["*c xConfiguration SIP Advanced StunKeepAliveForRegisteredPathEnabled: Off"])
        #expect(!settings.isOn(.stunKeepAliveEnabled))
        let read = try settings.run(XConfigurationCommand(parsing: "SIP Advanced"))
        #expect(read == [
            "*c xConfiguration SIP Advanced StunKeepAliveForRegisteredPathEnabled: Off",
            "*c xConfiguration SIP Advanced SipPathHeaders: Off",
            "*c xConfiguration SIP Advanced StunKeepAliveInterval: 30000",
            "*c xConfiguration SIP Advanced StunKeepAliveTimeout: 3000",
            "*c xConfiguration SIP Advanced OutboundFlowTimer: 120",
        ])
    }

    /// One duration grammar: a plain number keeps the setting's unit; `30s`, `500ms`, `2m` are
    /// converted into it; a fraction the unit cannot hold is refused.
    @Test func durationsAreAcceptedInAnyUnit() throws {
        let settings = try Settings(store: InMemorySettingsStore())
        for (text, stored) in [("25000", 25_000), ("30s", 30_000), ("2m", 120_000), ("1.5s", 1_500), ("500ms", 500)] {
            _ = try settings.set(.stunKeepAliveInterval, to: text)
            #expect(try settings.value(.stunKeepAliveInterval) == .integer(stored), "\(text)")
        }
        let timer = SettingPath(parsing: "SIP Advanced OutboundFlowTimer")
        _ = try settings.set(timer, to: "2m")
        #expect(try settings.value(timer) == .integer(120))
        #expect(throws: SettingsError.self, "1500ms is not a whole number of seconds") { try settings.set(timer, to: "1500ms") }
    }

    @Test func errorsNameThePathAndTheAllowedValues() throws {
        let settings = try Settings(store: InMemorySettingsStore())
        #expect(throws: SettingsError.invalidValue(.stunKeepAliveEnabled, value: "maybe", allowed: "On, Off")) {
            try settings.set(SettingPath(parsing: "sip advanced StunKeepAliveForRegisteredPathEnabled"), to: "maybe")
        }
        do {
            try settings.set(.stunKeepAliveInterval, to: "10")
            Issue.record("an interval below the range was accepted")
        } catch {
            #expect(error.description == "\"10\" is not a valid value for SIP Advanced StunKeepAliveInterval; allowed values: 100..3600000 (ms; or a duration such as 30s, 500ms, 2m)")
        }
        do {
            _ = try settings.value(SettingPath(parsing: "SIP Advanced StunKeepAlive"))
            Issue.record("an unknown path was read")
        } catch {
            #expect(error.description.hasPrefix("unknown setting \"SIP Advanced StunKeepAlive\"; known settings: SIP Advanced StunKeepAliveForRegisteredPathEnabled; "))
            #expect(!error.description.contains("SystemUnit"))
        }
        #expect(throws: SettingsError.malformedCommand("SIP Advanced SipPathHeaders:")) {
            try XConfigurationCommand(parsing: "SIP Advanced SipPathHeaders:")
        }
        #expect(try settings.value(.stunKeepAliveEnabled) == .onOff(true))
        #expect(try settings.value(.stunKeepAliveInterval) == .integer(30_000))
    }

    @Test func observersHearEveryChangeOnceAndStopWhenCancelled() throws {
        let settings = try Settings(store: InMemorySettingsStore())
        let heard = Heard()
        let observation = settings.observe { heard.append($0) }
        try settings.set(.stunKeepAliveEnabled, to: "Off")
        try settings.set(.stunKeepAliveEnabled, to: "off")  // no change: not told again
        try settings.set(.maintenanceMode, to: "On")
        observation.cancel()
        try settings.set(.stunKeepAliveEnabled, to: "On")
        #expect(heard.changes == [
            Settings.Change(path: .stunKeepAliveEnabled, old: .onOff(true), new: .onOff(false)),
            Settings.Change(path: .maintenanceMode, old: .onOff(false), new: .onOff(true)),
        ])
    }

    @Test func valuesSurviveReopeningTheFileAndForeignValuesFallBackToDefaults() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("edgeway-settings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("settings.sqlite").path
        do {
            let store = try SQLiteSettingsStore(path: path)
            let settings = try Settings(store: store)
            try settings.set(.stunKeepAliveEnabled, to: "off")
            try settings.set(.stunKeepAliveInterval, to: "250")
            // A value written by a catalogue where the timeout could be 1 ms.
            try store.save(path: "sip advanced stunkeepalivetimeout", value: "1")
        }
        let reopened = try Settings(store: try SQLiteSettingsStore(path: path))
        #expect(try reopened.value(.stunKeepAliveEnabled) == .onOff(false))
        #expect(try reopened.value(.stunKeepAliveInterval) == .integer(250))
        #expect(try reopened.value(.stunKeepAliveTimeout) == .integer(3_000))
    }

    @Test func aFailingStoreChangesNothing() throws {
        let settings = try Settings(store: FailingStore())
        let heard = Heard()
        _ = settings.observe { heard.append($0) }
        #expect(throws: SettingsError.storage("disk full")) { try settings.set(.sipPathHeaders, to: "On") }
        #expect(try settings.value(.sipPathHeaders) == .onOff(false))
        #expect(heard.changes.isEmpty)
    }
}

private final class Heard: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Settings.Change] = []

    func append(_ change: Settings.Change) {
        lock.withLock { stored.append(change) }
    }

    var changes: [Settings.Change] { lock.withLock { stored } }
}

private struct FailingStore: SettingsStore {
    struct Failure: Error, CustomStringConvertible {
        var description: String { "disk full" }
    }

    func load() -> [String: String] { [:] }
    func save(path: String, value: String) throws { throw Failure() }
}
