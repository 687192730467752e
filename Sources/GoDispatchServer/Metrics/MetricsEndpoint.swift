/// What `GET /metrics` answers: the Prometheus text exposition of a server's ``GoDispatchMetrics``.
/// The HTTP listener (the API layer) serves it; this type only renders.
public struct MetricsEndpoint: Sendable {
    /// The `Content-Type` of ``render()``'s bytes: Prometheus text format 0.0.4.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The metrics rendered.
    public let metrics: GoDispatchMetrics

    /// An endpoint for `metrics`.
    public init(metrics: GoDispatchMetrics) { self.metrics = metrics }

    /// The body of one scrape, with the values read at scrape time (connections, users, rooms…) read now.
    public func render() -> [UInt8] { metrics.render() }

    /// Counts one backend API request (see ``GoDispatchMetrics/recordAPIRequest(method:result:duration:)``).
    public func recordAPIRequest(method: String, result: String, duration: Duration) {
        metrics.recordAPIRequest(method: method, result: result, duration: duration)
    }
}
