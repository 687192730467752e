/// Refuses browser upgrades from origins outside `server.allowed_origins` with 403, defeating
/// cross-site WebSocket hijacking. Requests without an `Origin` header (non-browser clients) pass.
public struct OriginMiddleware: GatewayMiddleware {
    let allowed: Set<String>

    /// Allows exactly these origins, e.g. `https://app.example.com`.
    public init(allowed: [String]) { self.allowed = Set(allowed.map { $0.lowercased() }) }

    public func handle(
        _ request: RequestMetadata, next: @Sendable (RequestMetadata) async -> GatewayDecision
    ) async -> GatewayDecision {
        guard let origin = request.headers.first(name: "origin") else { return await next(request) }
        guard allowed.contains(origin.lowercased()) else {
            return .reject(GatewayRejection(.forbidden, "origin not allowed", kind: .origin))
        }
        return await next(request)
    }
}
