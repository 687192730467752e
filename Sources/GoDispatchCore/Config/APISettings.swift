/// `api:` — the backend listener: `POST /api/<method>`, `/health`, `/ready` and (unless `metrics.listen`
/// moves it) `/metrics`. Absent `api:` means no API listener.
public struct APISettings: Sendable, Equatable {
    /// Host part of `listen` (never the public WebSocket port).
    public var host: String = "127.0.0.1"
    /// Port part of `listen` (0 picks a free one).
    public var port: Int = 9000
    /// Accepted `X-API-Key` values (several, so keys can be rotated); never empty.
    public var keys: [String] = []
    /// Where `keys` is written, for warnings.
    public var keysLocation: SourceLocation?
    /// Largest accepted request body (default 1 MiB); larger gets HTTP 413.
    public var maxBodyBytes: Int = 1 << 20
    /// The event `publish` and `broadcast` send when the request names none (default `message`).
    public var defaultEvent: String = "message"
    /// `api.tls`: serve HTTPS (optionally requiring client certificates); nil = plain HTTP.
    public var tls: TLSSettings?

    /// Default settings (keys still to be set).
    public init() {}
}

/// `metrics:` — where `GET /metrics` is served when not on the API listener.
public struct MetricsSettings: Sendable, Equatable {
    /// Host part of `metrics.listen`.
    public var host: String
    /// Port part of `metrics.listen`.
    public var port: Int

    /// Settings for `host:port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
