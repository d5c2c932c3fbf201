import NIOConcurrencyHelpers

/// A lock-protected value for test recorders.
final class NIOLockedValueBoxSendable<Value: Sendable>: Sendable {
    private let box: NIOLockedValueBox<Value>

    init(_ value: Value) { box = NIOLockedValueBox(value) }

    func mutate(_ body: (inout Value) -> Void) { box.withLockedValue { body(&$0) } }

    func read<T>(_ body: (Value) -> T) -> T { box.withLockedValue { body($0) } }
}
