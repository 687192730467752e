import GoDispatchCore

/// Limits connections per user (`connections.per_user_limit`): `reject` refuses the new one with 429;
/// `cycle` accepts it and marks how many of the user's oldest connections to close (with 4001).
///
/// Runs after authentication, since it needs the user id. The count is read, not reserved: two
/// simultaneous first connections of one user may both pass; the next one sees both.
public struct ConnectionLimitMiddleware: GatewayMiddleware {
    let state: any StateManager
    let limit: Int
    let strategy: ConnectionLimitStrategy

    /// Limits against `state`'s live connections.
    public init(state: any StateManager, limit: Int, strategy: ConnectionLimitStrategy) {
        self.state = state
        self.limit = limit
        self.strategy = strategy
    }

    public func handle(
        _ request: RequestMetadata, next: @Sendable (RequestMetadata) async -> GatewayDecision
    ) async -> GatewayDecision {
        guard let user = request.identity?.userID else { return await next(request) }
        let open = state.user(id: user)?.connections.count ?? 0
        guard open >= limit else { return await next(request) }
        switch strategy {
        case .reject:
            return .reject(GatewayRejection(.tooManyRequests, "connection limit reached (\(limit) per user)", kind: .userLimit))
        case .cycle:
            var enriched = request
            enriched.evictOldest = open - limit + 1
            return await next(enriched)
        }
    }
}
