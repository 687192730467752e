import CGoDispatchABI
import Synchronization

/// Deferred invocations waiting for `complete`, by ticket.
///
/// A ticket is taken out exactly once — by `complete` or by the step's timeout — so a second
/// `complete` (or one after the timeout) finds nothing and is refused instead of resuming twice.
final class PendingCompletions: Sendable {
    static let shared = PendingCompletions()

    private struct Table {
        var nextTicket: gd_ticket = 1
        var waiting: [gd_ticket: PipelineRun] = [:]
    }

    private let table = Mutex(Table())

    /// Parks `run` and returns its ticket (never 0).
    func register(_ run: PipelineRun) -> gd_ticket {
        table.withLock { table in
            let ticket = table.nextTicket
            table.nextTicket += 1
            table.waiting[ticket] = run
            return ticket
        }
    }

    /// Removes and returns the run waiting on `ticket`, if it still waits.
    func take(_ ticket: gd_ticket) -> PipelineRun? {
        table.withLock { $0.waiting.removeValue(forKey: ticket) }
    }

    /// Forgets a ticket whose invocation did not end PENDING.
    func cancel(_ ticket: gd_ticket) { _ = take(ticket) }

    /// How many invocations are waiting (for tests and metrics).
    var count: Int { table.withLock { $0.waiting.count } }
}
