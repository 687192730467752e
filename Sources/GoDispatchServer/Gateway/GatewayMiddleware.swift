import NIOHTTP1

/// What the gateway decides about an upgrade request.
public enum GatewayDecision: Sendable {
    /// Upgrade, with the enriched metadata.
    case upgrade(RequestMetadata)
    /// Refuse with an HTTP status and a short reason (sent as the body).
    case reject(GatewayRejection)
}

/// A refusal: HTTP status and a reason that says what to fix, without secrets.
public struct GatewayRejection: Error, Sendable, Equatable {
    /// The HTTP status, e.g. 401.
    public let status: HTTPResponseStatus
    /// A short reason, e.g. "token expired".
    public let reason: String
    /// The refusal's kind, a bounded label for metrics.
    public let kind: Kind

    /// Creates a rejection.
    public init(_ status: HTTPResponseStatus, _ reason: String, kind: Kind = .other) {
        self.status = status
        self.reason = reason
        self.kind = kind
    }
}

/// One step of the gateway chain: reads and enriches the request metadata, then calls `next` or decides.
///
/// The same shape as Hummingbird's middleware: `handle(input, next)`.
public protocol GatewayMiddleware: Sendable {
    /// Handles the request; call `next` to continue the chain.
    func handle(
        _ request: RequestMetadata, next: @Sendable (RequestMetadata) async -> GatewayDecision
    ) async -> GatewayDecision
}

/// The chain of middlewares, built once at start-up; the end of the chain accepts the upgrade.
public struct GatewayChain: Sendable {
    private let run: @Sendable (RequestMetadata) async -> GatewayDecision

    /// Chains `middlewares` in order: the first sees the request first.
    public init(_ middlewares: [any GatewayMiddleware]) {
        var next: @Sendable (RequestMetadata) async -> GatewayDecision = { .upgrade($0) }
        for middleware in middlewares.reversed() {
            let following = next
            next = { request in await middleware.handle(request, next: following) }
        }
        run = next
    }

    /// Runs the chain.
    public func decide(_ request: RequestMetadata) async -> GatewayDecision { await run(request) }
}
