import NIOCore

/// Intrusion protection's bookkeeping (SPEC B28) as a value: per-source counters by category over
/// a fixed window, and the sources blocked. No clock inside: every input carries `now`.
public struct IntrusionDetector: Sendable {
    /// A source blocked by one category until a time.
    public struct Block: Sendable, Hashable {
        /// The IP address blocked, as text.
        public var source: String
        /// The category whose trigger level it reached.
        public var category: IntrusionCategory
        /// When the block began and ends.
        public var since: NIODeadline
        public var until: NIODeadline
    }

    private struct Counter: Sendable {
        var windowEnds: NIODeadline
        var count: Int
    }

    private struct Source: Sendable {
        var exempt: Bool
        var counters: [IntrusionCategory: Counter] = [:]
    }

    /// The policy in force.
    public let policy: IntrusionPolicy
    private var sources: [String: Source] = [:]
    private var blocks: [String: Block] = [:]
    /// At most this many sources are counted at once; past it the oldest windows are dropped
    /// first, so a spray of addresses cannot grow memory without bound.
    private let maxSources: Int

    /// Creates a detector; `maxSources` bounds the sources counted at once (default 100,000).
    public init(policy: IntrusionPolicy, maxSources: Int = 100_000) {
        self.policy = policy
        self.maxSources = maxSources
    }

    /// Counts one event of `category` from `source`; returns the block it starts, if this event
    /// reached the trigger level. Exempt sources, sources already blocked and categories
    /// without a rule are not counted.
    public mutating func record(_ category: IntrusionCategory, from source: String, at now: NIODeadline) -> Block? {
        guard policy.enabled, let rule = policy.rules[category], blocks[source] == nil else { return nil }
        if sources[source] == nil {
            if sources.count >= maxSources { prune(at: now, keeping: maxSources / 2) }
            sources[source] = Source(exempt: policy.exempts(source))
        }
        guard sources[source]?.exempt == false else { return nil }
        var counter = sources[source]?.counters[category] ?? Counter(windowEnds: now + .init(rule.detectionWindow), count: 0)
        if now >= counter.windowEnds { counter = Counter(windowEnds: now + .init(rule.detectionWindow), count: 0) }
        counter.count += 1
        guard counter.count >= rule.triggerLevel else {
            sources[source]?.counters[category] = counter
            return nil
        }
        sources[source] = nil
        let block = Block(source: source, category: category, since: now, until: now + .init(rule.blockDuration))
        blocks[source] = block
        return block
    }

    /// Whether `source` is blocked at `now`.
    public func isBlocked(_ source: String, at now: NIODeadline) -> Bool {
        guard let block = blocks[source] else { return false }
        return now < block.until
    }

    /// The sources blocked, soonest unblocked first.
    public var blocked: [Block] {
        blocks.values.sorted { ($0.until, $0.source) < ($1.until, $1.source) }
    }

    /// Whether any source is blocked (or waits for ``expire(at:)`` to end its block).
    public var hasBlocks: Bool { !blocks.isEmpty }

    /// How many sources have counters (bounded by `maxSources`).
    public var countedSources: Int { sources.count }

    /// Ends the blocks whose time has passed and forgets counters whose window has; returns the
    /// blocks ended.
    public mutating func expire(at now: NIODeadline) -> [Block] {
        let ended = blocks.values.filter { now >= $0.until }
        for block in ended { blocks[block.source] = nil }
        prune(at: now, keeping: maxSources)
        return ended.sorted { $0.source < $1.source }
    }

    /// Ends a block at once (an operator's `xcommand`); returns it, or `nil` when the source was not blocked.
    public mutating func unblock(_ source: String) -> Block? {
        blocks.removeValue(forKey: source)
    }


    private mutating func prune(at now: NIODeadline, keeping limit: Int) {
        sources = sources.filter { _, source in source.counters.values.contains { now < $0.windowEnds } }
        guard sources.count > limit else { return }
        let newest = sources.sorted { ($0.value.counters.values.map(\.windowEnds).max() ?? now) > ($1.value.counters.values.map(\.windowEnds).max() ?? now) }
        sources = Dictionary(uniqueKeysWithValues: newest.prefix(limit).map { ($0.key, $0.value) })
    }
}
