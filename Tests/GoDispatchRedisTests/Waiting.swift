import Synchronization

/// Events from callbacks on any thread, taken in order by a test with a timeout (events, not sleeps).
final class EventLog<Event: Sendable & Equatable>: Sendable {
    private struct State {
        var events: [Event] = []
        var waiters: [(id: Int, predicate: @Sendable (Event) -> Bool, continuation: CheckedContinuation<Bool, Never>)] =
            []
        var taken = 0
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Records an event (from a callback) and wakes a test waiting for it.
    func record(_ event: Event) {
        let woken = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.events.append(event)
            return wake(&state)
        }
        woken.forEach { $0.resume(returning: true) }
    }

    /// All events so far.
    var all: [Event] { state.withLock { $0.events } }

    /// Waits until an event equal to `event` arrives after those already consumed; false after `timeout`.
    func next(_ event: Event, timeout: Duration = .seconds(60)) async -> Bool {
        await next(where: { $0 == event }, timeout: timeout)
    }

    /// Waits for the next event (after those consumed) matching `predicate`; false after `timeout`.
    func next(where predicate: @escaping @Sendable (Event) -> Bool, timeout: Duration = .seconds(60)) async -> Bool {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> Int? in
                state.nextID += 1
                state.waiters.append((state.nextID, predicate, continuation))
                let woken = wake(&state)
                if !woken.isEmpty {
                    woken.forEach { $0.resume(returning: true) }
                    return nil
                }
                return state.nextID
            }
            guard let id else { return }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index).continuation
                }
                expired?.resume(returning: false)
            }
        }
    }

    /// Matches waiters against unconsumed events, consuming up to and including each match.
    private func wake(_ state: inout State) -> [CheckedContinuation<Bool, Never>] {
        var woken: [CheckedContinuation<Bool, Never>] = []
        var index = 0
        while index < state.waiters.count {
            let waiter = state.waiters[index]
            if let match = state.events[state.taken...].firstIndex(where: waiter.predicate) {
                state.taken = match + 1
                woken.append(waiter.continuation)
                state.waiters.remove(at: index)
            } else {
                index += 1
            }
        }
        return woken
    }
}
