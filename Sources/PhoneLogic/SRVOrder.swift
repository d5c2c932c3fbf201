/// One DNS SRV record (RFC 2782).
public struct SRVRecord: Equatable, Hashable, Sendable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    public var target: String

    /// Creates a record.
    public init(priority: UInt16, weight: UInt16, port: UInt16, target: String) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
}

/// The order in which to try SRV targets (RFC 2782): lowest priority first; within a priority, a
/// weighted random draw, repeated over the records not yet drawn.
public enum SRVOrder {
    /// The records in the order to try them.
    public static func ordered(_ records: [SRVRecord], using generator: inout some RandomNumberGenerator) -> [SRVRecord] {
        var result: [SRVRecord] = []
        for priority in Set(records.map(\.priority)).sorted() {
            // Weight 0 first, as RFC 2782 says, so they have a small chance when others have weight.
            var remaining = records.filter { $0.priority == priority }.sorted { ($0.weight == 0 ? 0 : 1) < ($1.weight == 0 ? 0 : 1) }
            while !remaining.isEmpty {
                let total = remaining.reduce(0) { $0 + Int($1.weight) }
                let draw = Int.random(in: 0...total, using: &generator)
                var running = 0
                let index = remaining.firstIndex { record in
                    running += Int(record.weight)
                    return running >= draw
                } ?? remaining.count - 1
                result.append(remaining.remove(at: index))
            }
        }
        return result
    }
}
