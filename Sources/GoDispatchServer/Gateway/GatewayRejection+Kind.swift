extension GatewayRejection {
    /// Why a request was refused, as a bounded label (`godispatch_connections_rejected_total{reason}`).
    public struct Kind: Sendable, Hashable, CaseIterable {
        /// The label value.
        public let label: String

        private init(_ label: String) { self.label = label }

        /// No token, or a token that does not verify (HTTP 401).
        public static let unauthorized = Kind("unauthorized")
        /// The `Origin` is not in `server.allowed_origins` (HTTP 403).
        public static let origin = Kind("origin")
        /// `connections.max_total` connections are open (HTTP 503).
        public static let serverFull = Kind("server_full")
        /// The user has `connections.per_user_limit` connections and the strategy is `reject` (HTTP 429).
        public static let userLimit = Kind("user_limit")
        /// The address has `connections.per_ip.max_connections` connections open (HTTP 429).
        public static let perIP = Kind("per_ip")
        /// The address opens connections faster than `connections.per_ip.rate` (HTTP 429).
        public static let perIPRate = Kind("per_ip_rate")
        /// The cluster broker cannot reach Redis, so the per-user limit cannot be checked (HTTP 503).
        public static let brokerUnavailable = Kind("broker_unavailable")
        /// Any other refusal.
        public static let other = Kind("other")

        public static let allCases: [Kind] = [.unauthorized, .origin, .serverFull, .userLimit, .perIP, .perIPRate, .brokerUnavailable, .other]
    }
}
