/// Requires a valid JWT: from `Authorization: Bearer …` or the `token` query parameter (browsers cannot
/// set headers on a WebSocket). A missing or bad token is refused with 401 and a short reason.
public struct JWTAuthMiddleware: GatewayMiddleware {
    let verifier: TokenVerifier

    /// Verifies with `verifier`.
    public init(verifier: TokenVerifier) { self.verifier = verifier }

    public func handle(
        _ request: RequestMetadata, next: @Sendable (RequestMetadata) async -> GatewayDecision
    ) async -> GatewayDecision {
        guard let token = Self.token(in: request) else {
            return .reject(GatewayRejection(.unauthorized, "missing token: send Authorization: Bearer <jwt> or ?token=<jwt>", kind: .unauthorized))
        }
        do {
            let identity = try await verifier.verify(token)
            var enriched = request
            enriched.identity = identity
            return await next(enriched)
        } catch {
            return .reject(GatewayRejection(.unauthorized, error.reason, kind: .unauthorized))
        }
    }

    /// The bearer token of a request, if any.
    static func token(in request: RequestMetadata) -> String? {
        if let header = request.headers.first(name: "authorization") {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]).trimmingCharacters() }
        }
        if let token = request.query["token"], !token.isEmpty { return token }
        return nil
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
