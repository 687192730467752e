import CGoDispatchABI

/// Deferred invocations, by ticket, from `defer` until the plugin settles them with `complete`.
///
/// A ticket is outstanding until `complete` is called with it, even after its step timed out: the
/// plugin may still be working on it with the step's state, so the entry keeps the ``CompiledStep``
/// (and with it the step state) alive until then. A reload that drops the old configuration therefore
/// cannot `release` a step state while a deferred completion of that step is still outstanding.
///
/// The pipeline is resumed at most once: by `complete` while the run still waits, or by the timeout,
/// which detaches the run and leaves the ticket outstanding. A second `complete` finds nothing.
final class PendingCompletions: Sendable {
    static let shared = PendingCompletions()

    /// One outstanding ticket.
    struct Entry: Sendable {
        /// The run waiting for the outcome; nil once the step timed out (nobody waits any more).
        var run: PipelineRun?
        /// The step that deferred: kept alive (with its plugin state) until the ticket settles.
        let step: CompiledStep
        /// Where the run resumes, and where the last reference to `step` is dropped.
        let executor: any ConnectionExecutor
    }

    private struct Table {
        var nextTicket: gd_ticket = 1
        var outstanding: [gd_ticket: Entry] = [:]
    }

    private let table = Locked(Table())

    /// Parks `run` on `step` and returns its ticket (never 0).
    func register(_ run: PipelineRun, step: CompiledStep, executor: any ConnectionExecutor) -> gd_ticket {
        table.withLock { table in
            let ticket = table.nextTicket
            table.nextTicket += 1
            table.outstanding[ticket] = Entry(run: run, step: step, executor: executor)
            return ticket
        }
    }

    /// Settles `ticket` (the plugin called `complete`): removes and returns its entry, if outstanding.
    func settle(_ ticket: gd_ticket) -> Entry? {
        table.withLock { $0.outstanding.removeValue(forKey: ticket) }
    }

    /// The step timed out: the run stops waiting, the ticket stays outstanding until `complete`.
    /// Returns false if the ticket was already settled or had already timed out.
    func expire(_ ticket: gd_ticket) -> Bool {
        table.withLock { table in
            guard table.outstanding[ticket]?.run != nil else { return false }
            table.outstanding[ticket]!.run = nil
            return true
        }
    }

    /// Settles `ticket` on the engine's behalf (the broker finished what a step started) and resumes its
    /// run on the run's executor; false when it was already settled.
    @discardableResult
    func resume(_ ticket: gd_ticket, status: Int32, result: [UInt8]?, message: String) -> Bool {
        guard let entry = settle(ticket) else { return false }
        return resume(entry, ticket: ticket, status: status, result: result, message: message)
    }

    /// Resumes a settled entry's run on its executor with the outcome. A timed-out entry (nobody waits)
    /// only drops its step there, so a `release` it may trigger never runs on the settling thread; false then.
    @discardableResult
    func resume(_ entry: Entry, ticket: gd_ticket, status: Int32, result: [UInt8]?, message: String) -> Bool {
        let step = entry.step
        guard let run = entry.run else {
            entry.executor.execute { withExtendedLifetime(step) {} }
            return false
        }
        entry.executor.execute {
            run.resume(ticket: ticket, status: status, result: result, message: message)
            withExtendedLifetime(step) {}
        }
        return true
    }

    /// Forgets a ticket whose invocation did not end PENDING (a later `complete` is stale).
    func cancel(_ ticket: gd_ticket) { _ = settle(ticket) }

    /// Invocations whose run still waits (for tests and metrics).
    var waitingCount: Int { table.withLock { $0.outstanding.values.count { $0.run != nil } } }

    /// Tickets not yet settled by `complete`, timed out or not (for tests and metrics).
    var outstandingCount: Int { table.withLock { $0.outstanding.count } }
}
