import Location

/// The error a conformance check throws from inside an update.
private struct Refused: Error {}

/// One suite of checks every ``LocationStore`` must pass; returns the failed checks (empty when
/// the store conforms), so each store's test target asserts on the result.
public enum LocationStoreConformance {
    /// Runs every check against an empty store.
    public static func failures(of store: some LocationStore) async throws -> [String] {
        var failures: [String] = []
        func check(_ condition: Bool, _ what: String) {
            if !condition { failures.append(what) }
        }
        let alice = "sip:alice@example.com"
        let first = binding(aor: alice, instance: "urn:uuid:1", expiresAt: 10_000)
        let second = binding(aor: alice, instance: "urn:uuid:2", expiresAt: 20_000)
        let bob = binding(aor: "sip:bob@example.com", instance: "urn:uuid:3", expiresAt: 30_000)

        check(try await store.bindings(for: alice).isEmpty, "an unknown AOR has no bindings")
        try await store.update(aor: alice) { $0 = [first, second] }
        try await store.update(aor: bob.aor) { $0 = [bob] }
        check(try await store.bindings(for: alice) == [first, second], "bindings come back as stored, in order")
        check(try await store.count() == 3, "count covers every AOR")
        check(try await store.listBindings(limit: 10) == [first, second, bob], "the listing has every AOR's bindings, by AOR, in order")
        check(try await store.listBindings(limit: 2) == [first, second], "the listing stops at its limit")

        let seen = try await store.update(aor: alice) { bindings -> Int in
            let count = bindings.count
            bindings.removeFirst()
            return count
        }
        check(seen == 2, "update sees the current bindings")
        check(try await store.bindings(for: alice) == [second], "update stores the changed set")

        _ = try? await store.update(aor: alice) { bindings -> Int in
            bindings = []
            throw Refused()
        }
        check(try await store.bindings(for: alice) == [second], "a throwing update changes nothing")

        check(try await store.purgeExpired(now: 25_000) == 1, "purge removes what lapsed")
        check(try await store.bindings(for: alice).isEmpty, "purged bindings are gone")
        check(try await store.bindings(for: bob.aor) == [bob], "purge keeps live bindings")

        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    try await store.update(aor: "sip:carol@example.com") { bindings in
                        bindings.append(binding(aor: "sip:carol@example.com", instance: "urn:uuid:c\(index)", expiresAt: 40_000))
                    }
                }
            }
            try await group.waitForAll()
        }
        check(try await store.bindings(for: "sip:carol@example.com").count == 50, "concurrent updates of one AOR all land")

        // Order survives a purge's gap, an append and a reordering; a binding keyed by its Contact
        // alone (no instance, no reg-id, no Path) comes back as stored.
        let dave = "sip:dave@example.com"
        var contactOnly = binding(aor: dave, instance: "urn:uuid:d4", expiresAt: 90_000)
        (contactOnly.instanceID, contactOnly.regID, contactOnly.path) = (nil, nil, [])
        let byContact = contactOnly
        let lapsing = binding(aor: dave, instance: "urn:uuid:d1", expiresAt: 50_000)
        let (d2, d3) = (binding(aor: dave, instance: "urn:uuid:d2", expiresAt: 90_000), binding(aor: dave, instance: "urn:uuid:d3", expiresAt: 90_000))
        try await store.update(aor: dave) { $0 = [lapsing, d2, d3] }
        _ = try await store.purgeExpired(now: 60_000)
        try await store.update(aor: dave) { $0.append(byContact) }
        check(try await store.bindings(for: dave) == [d2, d3, byContact], "an append after a purge keeps the order")
        try await store.update(aor: dave) { $0 = [byContact, d3, d2] }
        check(try await store.bindings(for: dave) == [byContact, d3, d2], "a reordering is stored")
        return failures
    }

    /// A binding with every field set, for store tests.
    public static func binding(aor: String, instance: String, expiresAt: Int64) -> Binding {
        Binding(aor: aor, contactURI: "sip:\(instance.suffix(4))@192.0.2.10:5061;transport=tls",
                contactValue: "<sip:\(instance.suffix(4))@192.0.2.10:5061;transport=tls>;+sip.instance=\"<\(instance)>\";reg-id=1",
                instanceID: instance, regID: 1, callID: "call-\(instance)", cseq: 7, expiresAt: expiresAt,
                path: ["<sip:core.example.com;lr>"], pathIdentity: "edge-1/flow-9")
    }
}
