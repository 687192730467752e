/// The broker operations one action step (or one API call) started, and what to do once they all ended.
///
/// A host function stays synchronous for the plugin that calls it; when the broker could not finish its
/// operation at once (a `PUBLISH` to Redis, a command other nodes must acknowledge), it calls ``begin()``
/// and later ``end(_:)``. The pipeline then parks the step until ``whenSettled(_:)`` fires, so the step
/// completes only once every node did its part, and a failure becomes the step's error. The memory
/// broker never touches it.
public final class BrokerWait: Sendable {
    private struct State {
        var outstanding = 0
        var failure: BrokerError?
        var onSettled: (@Sendable (BrokerError?) -> Void)?
        var position: StreamPosition?
    }

    private let state = Locked(State())

    /// A wait with nothing begun.
    public init() {}

    /// An operation started and will ``end(_:)`` later.
    public func begin() { state.withLock { $0.outstanding += 1 } }

    /// An operation ended (with `failure` if it failed); the first failure is kept.
    public func end(_ failure: BrokerError? = nil) {
        let fire = state.withLock { state -> (@Sendable (BrokerError?) -> Void, BrokerError?)? in
            if state.failure == nil { state.failure = failure }
            state.outstanding -= 1
            guard state.outstanding == 0, let body = state.onSettled else { return nil }
            state.onSettled = nil
            return (body, state.failure)
        }
        if let (body, failure) = fire { body(failure) }
    }

    /// Records a failure that needs no waiting (the broker knew at once).
    public func fail(_ failure: BrokerError) {
        state.withLock { state in
            if state.failure == nil { state.failure = failure }
        }
    }

    /// Where a publish landed in its room's shared stream (set before its operation ends).
    public var position: StreamPosition? {
        get { state.withLock { $0.position } }
        set { state.withLock { $0.position = newValue } }
    }

    /// Whether an operation is still under way.
    public var isPending: Bool { state.withLock { $0.outstanding > 0 } }

    /// The first failure so far.
    public var failure: BrokerError? { state.withLock { $0.failure } }

    /// Runs `body` with the first failure (nil: all succeeded) once nothing is outstanding: at once, on
    /// this thread, when nothing is; else on the thread that ends the last operation. Set it once.
    public func whenSettled(_ body: @escaping @Sendable (BrokerError?) -> Void) {
        let now = state.withLock { state -> BrokerError?? in
            guard state.outstanding > 0 else { return .some(state.failure) }
            state.onSettled = body
            return .none
        }
        if case .some(let failure) = now { body(failure) }
    }
}
