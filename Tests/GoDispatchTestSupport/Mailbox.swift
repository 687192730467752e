import GoDispatchCore

/// A thread-safe queue that a test awaits with a timeout: producers `put` from any thread, the test
/// `take`s the next item or gets nil when nothing arrives in time.
public final class Mailbox<Item: Sendable>: Sendable {
    public init() {}

    private struct State {
        var items: [Item] = []
        var waiter: (id: Int, continuation: CheckedContinuation<Item?, Never>)?
        var nextWaiterID = 0
    }

    private let state = Locked(State())

    public func put(_ item: Item) {
        let waiter = state.withLock { state -> CheckedContinuation<Item?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.items.append(item)
            return nil
        }
        waiter?.resume(returning: item)
    }

    /// The next item, or nil after `timeout`.
    public func take(timeout: Duration = .seconds(30)) async -> Item? {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> Int? in
                if !state.items.isEmpty {
                    continuation.resume(returning: state.items.removeFirst())
                    return nil
                }
                state.nextWaiterID += 1
                state.waiter = (state.nextWaiterID, continuation)
                return state.nextWaiterID
            }
            guard let id else { return }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = state.withLock { state -> CheckedContinuation<Item?, Never>? in
                    guard let waiter = state.waiter, waiter.id == id else { return nil }
                    state.waiter = nil
                    return waiter.continuation
                }
                expired?.resume(returning: nil)
            }
        }
    }

    /// Items received and not yet taken.
    public var pending: [Item] { state.withLock { $0.items } }
}
