import CGoDispatchABI

/// The step life of one pipeline run, as a value: which step comes next, which ticket a pending step
/// waits on, and when the run is over. Each transition returns what the run must do next, so the
/// rules are tested without plugins, executors or connections (like the frame parser).
///
/// ```
///  running(i) ──invoked OK──────────▶ running(i+1) ──(i+1 == count)──▶ finished (complete)
///      │  └────invoked PENDING──────▶ waiting(i, ticket) ──completed OK──▶ running(i+1)
///      │                                   │   └──completed error / timed out──▶ finished (failed)
///      ├──invoked error────────────────────┼──────────────────────────────────▶ finished (failed)
///      └──connection closed (not a disconnect hook)──────────────────────────▶ finished (abandoned)
/// ```
struct PipelineRunMachine: Equatable {
    /// Where the run is.
    enum State: Equatable {
        /// Step `step` is the next to run (or the run is complete when it equals the step count).
        case running(step: Int)
        /// Step `step` returned PENDING and waits for `ticket`.
        case waiting(step: Int, ticket: gd_ticket)
        /// The run is over; nothing more happens.
        case finished
    }

    /// What the run must do after a transition.
    enum Action: Equatable {
        /// Invoke step `step` (after checking its `when:`).
        case invoke(step: Int)
        /// The step is done: ask ``next(connectionOpen:)`` what comes now.
        case proceed
        /// Wait for `ticket`: arm the step's timeout.
        case park(step: Int, ticket: gd_ticket)
        /// Every step ran.
        case complete
        /// Step `step` failed: tell the sender (`status` picks the error code).
        case fail(step: Int, status: Int32, message: String)
        /// The connection closed: stop quietly (nobody is left to tell).
        case abandon
        /// A late or duplicate event: do nothing.
        case ignore
    }

    /// The number of steps.
    let stepCount: Int
    /// True for `lifecycle.disconnect`, which runs on after its connection closed.
    let outlivesConnection: Bool
    /// The current state.
    private(set) var state: State = .running(step: 0)

    /// A run of `stepCount` steps, at its first step.
    init(stepCount: Int, outlivesConnection: Bool = false) {
        self.stepCount = stepCount
        self.outlivesConnection = outlivesConnection
    }

    /// What to do at the current step: invoke it, or end the run.
    mutating func next(connectionOpen: Bool) -> Action {
        guard case .running(let step) = state else { return .ignore }
        if !connectionOpen && !outlivesConnection {
            state = .finished
            return .abandon
        }
        guard step < stepCount else {
            state = .finished
            return .complete
        }
        return .invoke(step: step)
    }

    /// The current step's `when:` was false: move past it.
    mutating func skipped() {
        guard case .running(let step) = state else { return }
        state = .running(step: step + 1)
    }

    /// The current step's `invoke` returned `status` (`ticket` is 0 unless it called `defer`).
    mutating func invoked(status: Int32, ticket: gd_ticket, message: String) -> Action {
        guard case .running(let step) = state else { return .ignore }
        switch status {
        case GD_OK.rawValue:
            state = .running(step: step + 1)
            return .proceed
        case GD_PENDING.rawValue where ticket != 0:
            state = .waiting(step: step, ticket: ticket)
            return .park(step: step, ticket: ticket)
        case GD_PENDING.rawValue:
            state = .finished
            return .fail(step: step, status: GD_ERR_FAILED.rawValue, message: "returned PENDING without calling defer()")
        default:
            state = .finished
            return .fail(step: step, status: status, message: message)
        }
    }

    /// `complete` arrived for `ticket` with `status`.
    mutating func completed(ticket: gd_ticket, status: Int32, message: String) -> Action {
        guard case .waiting(let step, let waitingFor) = state, waitingFor == ticket else { return .ignore }
        guard status == GD_OK.rawValue else {
            state = .finished
            return .fail(step: step, status: status, message: message)
        }
        state = .running(step: step + 1)
        return .proceed
    }

    /// The pending step's timeout fired for `ticket`.
    mutating func timedOut(ticket: gd_ticket, after timeout: Duration) -> Action {
        guard case .waiting(let step, let waitingFor) = state, waitingFor == ticket else { return .ignore }
        state = .finished
        return .fail(step: step, status: GD_ERR_FAILED.rawValue, message: "timed out after \(timeout)")
    }
}
