import Logging
import Synchronization

/// Bounds plugins' HTTP callouts: at most `plugins.http.max_in_flight` under way at once. A callout
/// past the cap fails at once (the plugin's callback gets an error: `_webhook` in notify mode logs and
/// counts it, in call mode the step fails with `action_failed`), so a slow backend cannot pile up
/// requests, memory and sockets without bound. On shutdown, ``drain(timeout:)`` waits for the
/// callouts under way.
public final class HTTPCalloutGate: HTTPCallout, Sendable {
    private let inner: any HTTPCallout
    private let logger: Logger
    private let limit: Atomic<Int>
    private let inFlightCount = Atomic<Int>(0)
    private let refusedCount = Atomic<Int>(0)

    /// Lets at most `maxInFlight` callouts through `inner` at once.
    public init(_ inner: any HTTPCallout, maxInFlight: Int, logger: Logger) {
        self.inner = inner
        self.logger = logger
        limit = Atomic(maxInFlight)
    }

    /// Changes the cap (a reload); callouts under way are not affected.
    public func setLimit(_ maxInFlight: Int) { limit.store(maxInFlight, ordering: .relaxed) }

    /// Callouts under way now.
    public var inFlight: Int { inFlightCount.load(ordering: .relaxed) }

    /// Callouts refused because the cap was reached, since start.
    public var refused: Int { refusedCount.load(ordering: .relaxed) }

    public func send(
        _ request: HTTPCalloutRequest, completion: @escaping @Sendable (Result<HTTPCalloutResponse, HTTPCalloutError>) -> Void
    ) {
        let cap = limit.load(ordering: .relaxed)
        guard inFlightCount.add(1, ordering: .acquiringAndReleasing).newValue <= cap else {
            inFlightCount.subtract(1, ordering: .acquiringAndReleasing)
            let total = refusedCount.add(1, ordering: .relaxed).newValue
            // One line per power of two keeps a flood of refusals from flooding the log.
            if total & (total - 1) == 0 {
                logger.warning(
                    "http callout refused: plugins.http.max_in_flight reached",
                    metadata: ["limit": "\(cap)", "refused_total": "\(total)", "url": "\(request.url)"])
            }
            completion(.failure(HTTPCalloutError(message: "too many HTTP callouts in flight (plugins.http.max_in_flight = \(cap))")))
            return
        }
        inner.send(request) { [self] result in
            inFlightCount.subtract(1, ordering: .acquiringAndReleasing)
            completion(result)
        }
    }

    /// Waits until no callout is under way, or `timeout` passes; returns how many were still under way.
    public func drain(timeout: Duration) async -> Int {
        let deadline = ContinuousClock.now + timeout
        while inFlight > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return inFlight
    }
}
