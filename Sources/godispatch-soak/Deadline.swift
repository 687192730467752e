import Synchronization

/// An operation that did not finish within its time.
struct DeadlineExceeded: Error, CustomStringConvertible {
    /// What was being waited for.
    let what: String
    /// How long.
    let timeout: Duration

    /// Says what took too long, and the limit.
    var description: String { "\(what) took longer than \(timeout)" }
}

/// Runs `operation`, giving up after `timeout`. The operation is not cancelled (a WebSocket connect
/// does not observe cancellation): when it finishes after the deadline, its value goes to `abandon`,
/// so a late connection is closed instead of leaking.
func withDeadline<T: Sendable>(
    _ timeout: Duration, what: String, _ operation: @escaping @Sendable () async throws -> T,
    abandon: @escaping @Sendable (T) async -> Void = { _ in }
) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let once = ResumeOnce(continuation)
        let timer = Task {
            do { try await Task.sleep(for: timeout) } catch { return }  // cancelled: the operation finished
            once.resume(with: .failure(DeadlineExceeded(what: what, timeout: timeout)))
        }
        Task {
            do {
                let value = try await operation()
                timer.cancel()
                if !once.resume(with: .success(value)) { await abandon(value) }
            } catch {
                timer.cancel()
                once.resume(with: .failure(error))
            }
        }
    }
}

/// A continuation resumed by whichever of two racers comes first; the other learns it lost.
private final class ResumeOnce<T: Sendable>: Sendable {
    /// Taken by the first resume.
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    /// Guards `continuation`.
    init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = Mutex(continuation) }

    /// Resumes the continuation unless it was already; true when this call did.
    @discardableResult
    func resume(with result: Result<T, any Error>) -> Bool {
        guard let continuation = continuation.withLock({ $0.take() }) else { return false }
        continuation.resume(with: result)
        return true
    }
}
