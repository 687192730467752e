import Synchronization

/// How plugins' HTTP callouts ended, counted at the ``HTTPCalloutGate`` (plugins cannot reach
/// swift-metrics: they count through the host). One atomic per outcome; the server exports them as
/// `godispatch_webhook_requests_total{outcome}` when it is scraped.
public final class HTTPCalloutOutcomes: Sendable {
    /// How one callout ended.
    public enum Outcome: String, Sendable, CaseIterable {
        /// An answer with a status below 400.
        case ok
        /// An answer with a status of 400 or more (after the retries a 5xx gets).
        case httpError = "http_error"
        /// No answer in time, after every attempt.
        case timeout
        /// No answer: connection refused, DNS, TLS… after every attempt.
        case error
        /// Not sent: `plugins.http.max_in_flight` callouts were already under way, or no HTTP client.
        case refused
    }

    private let ok = Atomic<Int>(0)
    private let httpError = Atomic<Int>(0)
    private let timeout = Atomic<Int>(0)
    private let error = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)

    /// All zero.
    public init() {}

    /// Callouts that ended with `outcome`, since start.
    public subscript(outcome: Outcome) -> Int {
        switch outcome {
        case .ok: ok.load(ordering: .relaxed)
        case .httpError: httpError.load(ordering: .relaxed)
        case .timeout: timeout.load(ordering: .relaxed)
        case .error: error.load(ordering: .relaxed)
        case .refused: refused.load(ordering: .relaxed)
        }
    }

    /// Counts one callout that ended with `outcome`.
    func record(_ outcome: Outcome) {
        switch outcome {
        case .ok: ok.add(1, ordering: .relaxed)
        case .httpError: httpError.add(1, ordering: .relaxed)
        case .timeout: timeout.add(1, ordering: .relaxed)
        case .error: error.add(1, ordering: .relaxed)
        case .refused: refused.add(1, ordering: .relaxed)
        }
    }

    /// Counts one callout that ended with `result`.
    func record(_ result: Result<HTTPCalloutResponse, HTTPCalloutError>) {
        switch result {
        case .success(let response): record(response.status < 400 ? .ok : .httpError)
        case .failure(let error): record(error.timedOut ? .timeout : .error)
        }
    }
}
