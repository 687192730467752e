import Logging
import Synchronization

/// Bounds plugins' HTTP callouts: at most `plugins.http.max_in_flight` under way at once. A callout
/// past the cap fails at once (the plugin's callback gets an error: `_webhook` in notify mode logs and
/// counts it, in call mode the step fails with `action_failed`), so a slow backend cannot pile up
/// requests, memory and sockets without bound. On shutdown, ``drain(timeout:)`` waits for the
/// callouts under way.
///
/// Plugins reach it through `http_request`, which has no call handle: there is one gate per process
/// (``HostTable``), configured by the engine.
public final class HTTPCalloutGate: HTTPCallout, Sendable {
    private let inner = Locked<(any HTTPCallout)?>(nil)
    private let logger = Locked(Logger(label: "godispatch.http"))
    private let limit = Atomic<Int>(256)
    private let inFlightCount = Atomic<Int>(0)
    private let refusedCount = Atomic<Int>(0)
    /// How callouts ended, since start (for `godispatch_webhook_requests_total`).
    public let outcomes = HTTPCalloutOutcomes()

    /// A gate without an HTTP client yet (callouts fail until ``configure(client:maxInFlight:logger:)``).
    public init() {}

    /// Sets the client (when given), the cap and the logger; callouts under way are not affected.
    public func configure(client: (any HTTPCallout)?, maxInFlight: Int, logger: Logger) {
        if let client { inner.withLock { $0 = client } }
        limit.store(maxInFlight, ordering: .relaxed)
        self.logger.withLock { $0 = logger }
    }

    /// Changes the cap (a reload); callouts under way are not affected.
    public func setLimit(_ maxInFlight: Int) { limit.store(maxInFlight, ordering: .relaxed) }

    /// True once an HTTP client is installed.
    public var hasClient: Bool { inner.withLock { $0 != nil } }

    /// Callouts under way now.
    public var inFlight: Int { inFlightCount.load(ordering: .relaxed) }

    /// Callouts refused because the cap was reached, since start.
    public var refused: Int { refusedCount.load(ordering: .relaxed) }

    public func send(
        _ request: HTTPCalloutRequest, completion: @escaping @Sendable (Result<HTTPCalloutResponse, HTTPCalloutError>) -> Void
    ) {
        guard let client = inner.withLock({ $0 }) else {
            outcomes.record(.refused)
            return completion(.failure(HTTPCalloutError(message: "the engine has no HTTP client")))
        }
        let cap = limit.load(ordering: .relaxed)
        guard inFlightCount.add(1, ordering: .acquiringAndReleasing).newValue <= cap else {
            inFlightCount.subtract(1, ordering: .acquiringAndReleasing)
            outcomes.record(.refused)
            let total = refusedCount.add(1, ordering: .relaxed).newValue
            // One line per power of two keeps a flood of refusals from flooding the log.
            if total & (total - 1) == 0 {
                logger.withLock { $0 }.warning(
                    "http callout refused: plugins.http.max_in_flight reached",
                    metadata: ["limit": "\(cap)", "refused_total": "\(total)", "url": "\(request.url)"])
            }
            completion(.failure(HTTPCalloutError(message: "too many HTTP callouts in flight (plugins.http.max_in_flight = \(cap))")))
            return
        }
        client.send(request) { [self] result in
            inFlightCount.subtract(1, ordering: .acquiringAndReleasing)
            outcomes.record(result)
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
