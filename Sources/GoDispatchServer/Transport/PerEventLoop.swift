import NIOCore

/// One value per event loop of a group (a ``FlushBatcher``, a ``ConnectionSweeper``), built up front so
/// that looking one up never locks.
struct PerEventLoop<Value: Sendable>: Sendable {
    private let values: [ObjectIdentifier: Value]

    /// Builds a value for every loop of `group`.
    init(group: any EventLoopGroup, make: (any EventLoop) -> Value) {
        var values: [ObjectIdentifier: Value] = [:]
        for loop in group.makeIterator() { values[ObjectIdentifier(loop)] = make(loop) }
        self.values = values
    }

    /// The value of `eventLoop`, which must belong to the group.
    subscript(eventLoop: any EventLoop) -> Value {
        guard let value = values[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("event loop outside the server's group")
        }
        return value
    }
}
