/// An outbound HTTP request a plugin asked for through `http_request` (ABI 1.1).
public struct HTTPCalloutRequest: Sendable {
    /// "POST", "GET", …
    public var method: String
    /// Absolute http(s) URL.
    public var url: String
    /// Extra headers, in order.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: [UInt8]
    /// Per-attempt timeout, enforced by the host.
    public var timeout: Duration
    /// Attempts in all; connection errors, timeouts and 5xx answers are retried.
    public var maxAttempts: Int
    /// First retry delay; doubled each time, with up to 50% random jitter.
    public var backoff: Duration
    /// When set, the host adds `X-GoDispatch-Timestamp` and `X-GoDispatch-Signature`.
    public var signingSecret: [UInt8]?
}

/// The answer to an ``HTTPCalloutRequest``.
public struct HTTPCalloutResponse: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// The body (bounded by the host).
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// Why no HTTP answer arrived (after every attempt).
public struct HTTPCalloutError: Error, Sendable {
    /// E.g. "timed out after 2 s".
    public let message: String
    /// True when the last attempt got no answer in time (counted as `timeout`, not `error`).
    public let timedOut: Bool

    /// Creates an error.
    public init(message: String, timedOut: Bool = false) {
        self.message = message
        self.timedOut = timedOut
    }
}

/// Performs plugins' HTTP callouts without blocking an event loop; the server layer provides one
/// (async-http-client), so no plugin carries its own HTTP stack.
public protocol HTTPCallout: Sendable {
    /// Sends `request` (with its retries); calls `completion` exactly once, on any thread.
    func send(_ request: HTTPCalloutRequest, completion: @escaping @Sendable (Result<HTTPCalloutResponse, HTTPCalloutError>) -> Void)
}
