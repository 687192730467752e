/// A value with the place it was written.
public struct Located<Value: Sendable>: Sendable {
    /// The value.
    public let value: Value
    /// Where it is written.
    public let location: SourceLocation
}

/// The whole configuration file as typed values (before compilation).
public struct EngineConfig: Sendable {
    /// The file it came from.
    public var file: String
    /// `server:`
    public var server: ServerSettings
    /// `auth:`
    public var auth: AuthSettings
    /// `connections:`
    public var connections: ConnectionSettings
    /// `plugins:`
    public var plugins: PluginSettings
    /// `events:`, in file order.
    public var events: [EventDefinition]
    /// `lifecycle.connect` and `lifecycle.disconnect` (named `lifecycle.connect` / `lifecycle.disconnect`).
    public var lifecycle: [EventDefinition] = []
    /// `server_events:`, in file order: pipelines a backend starts (no origin connection, no `requires`).
    public var serverEvents: [EventDefinition] = []
    /// `rooms:`: presence, history and recovery per room pattern.
    public var rooms: RoomRules = .none
    /// `api:`, when the backend API is enabled.
    public var api: APISettings?
    /// `metrics:`, when `/metrics` has a listener of its own.
    public var metrics: MetricsSettings?
    /// `broker:`: one node (`memory`, the default) or several sharing Redis.
    public var broker = BrokerSettings()
}

/// `server:` — where and how the transport listens.
public struct ServerSettings: Sendable {
    /// Host part of `listen` (default 127.0.0.1).
    public var host: String = "127.0.0.1"
    /// Port part of `listen` (default 8080).
    public var port: Int = 8080
    /// The WebSocket upgrade path (default `/ws`).
    public var path: String = "/ws"
    /// Largest accepted client message (default 64 KiB); larger closes with 1009.
    public var maxMessageBytes: Int = 65_536
    /// How often the server pings an idle client (default 30 s).
    public var pingInterval: Duration = .seconds(30)
    /// A client silent for this long is closed (default 90 s).
    public var idleTimeout: Duration = .seconds(90)
    /// Most bytes queued for a client before it counts as too slow and is closed (default 4 MiB).
    public var maxOutboundBytes: Int = 4 << 20
    /// Browser origins allowed to connect; empty = any. Others get 403 (cross-site WebSocket hijacking).
    public var allowedOrigins: [String] = []
    /// On SIGTERM, how long shutdown waits for close handshakes and in-flight HTTP callouts (default 10 s).
    public var shutdownTimeout: Duration = .seconds(10)
    /// On SIGTERM, how long `/ready` answers 503 before the listener stops accepting (default 0 s), so a
    /// load balancer stops sending new clients first.
    public var drainDelay: Duration = .zero
    /// A connection still without its upgrade (or its plain HTTP answer) after this long is closed (default 10 s).
    public var handshakeTimeout: Duration = .seconds(10)
    /// Most connections in their handshake at once, server-wide (default 1024); more are closed at accept.
    public var maxPendingHandshakes: Int = 1024
    /// `server.tls`: serve `wss://` (nil = plain `ws://`, for a proxy that ends TLS in front).
    public var tls: TLSSettings?
}

/// `auth:`
public struct AuthSettings: Sendable {
    /// `auth.jwt:`
    public var jwt: JWTSettings
}

/// `auth.jwt:` — every connection must carry a valid token.
public struct JWTSettings: Sendable {
    /// Accepted algorithms (default `[HS256]`).
    public var algorithms: [String] = ["HS256"]
    /// The shared secret for HS* algorithms (after `${VAR}` substitution).
    public var secret: String?
    /// Clock skew allowed for `exp` and `nbf`.
    public var leeway: Duration = .seconds(0)
    /// Where `secret` is written, for warnings.
    public var secretLocation: SourceLocation?
    /// A PEM public key for RS*, PS*, ES* or EdDSA (resolved against the config file's folder).
    public var publicKeyFile: String?
    /// A JWKS document; the token's `kid` selects the key.
    public var jwksFile: String?
    /// Required `iss`, when set.
    public var issuer: String?
    /// Required `aud` (one of the token's audiences), when set.
    public var audience: String?
}

/// What happens when a user opens one connection more than allowed.
public enum ConnectionLimitStrategy: String, Sendable, CaseIterable {
    /// Refuse the new connection (HTTP 429).
    case reject
    /// Accept it and close the user's oldest connection (close code 4001).
    case cycle
}

/// `connections:`
public struct ConnectionSettings: Sendable {
    /// Most connections per user; nil = no limit.
    public var perUserLimit: Int?
    /// What to do past the limit.
    public var strategy: ConnectionLimitStrategy = .reject
    /// Most connections on this server; more get 503. Nil = no cap.
    public var maxTotal: Int?
    /// Most rooms one connection may be in (default 100).
    public var maxRoomsPerConnection: Int = 100
    /// Per-connection message rate limit; nil = none.
    public var rateLimit: RateLimitSettings?
    /// Most bytes of messages that may wait behind a pending action on one connection (default 1 MiB);
    /// more get a `busy` error.
    public var maxInboxBytes: Int = 1 << 20
    /// `connections.per_ip`: limits per client address; nil = none.
    public var perIP: PerIPSettings?
}

/// `connections.rate_limit`: `messages` per `per`, bursts up to `burst`.
public struct RateLimitSettings: Sendable, Equatable {
    /// Messages allowed per period.
    public var messages: Int
    /// The period.
    public var per: Duration
    /// Messages allowed at once after a quiet spell (default = `messages`).
    public var burst: Int
}

/// `plugins:`
public struct PluginSettings: Sendable {
    /// The folders whose `.so` files are loaded, in order, each resolved against the config file's folder:
    /// `plugins.directory` is one path or a list (say the build's plugins and your own, so a rebuild that
    /// replaces the first never touches the second).
    public var directories: [String]
    /// Where each entry of `plugins.directory` is written, in the same order (empty: the default, `plugins`
    /// beside the config file).
    public var directoryLocations: [SourceLocation] = []
    /// How long a step may stay pending before the pipeline fails (default 10 s).
    public var stepTimeout: Duration = .seconds(10)
    /// `plugins.settings.<plugin name>`: settings handed to that plugin's steps at load.
    public var settings: [String: JSONValue] = [:]
    /// `plugins.http.max_in_flight`: most HTTP callouts under way at once (default 256); more fail at once.
    public var maxHTTPInFlight: Int = 256

    /// Settings loading the plugins of `directories`.
    public init(directories: [String]) { self.directories = directories }

    /// Settings loading the plugins of one folder.
    public init(directory: String) { self.init(directories: [directory]) }
}

/// One client event (or server event, lifecycle hook): who may send it and what it does.
public struct EventDefinition: Sendable {
    /// The event name clients send.
    public let name: String
    /// Where the event is written.
    public let location: SourceLocation
    /// Permissions the sender must hold (templates allowed).
    public var requires: [Located<String>]
    /// The payload's schema (the documented JSON Schema subset), if any.
    public var payloadSchema: Located<JSONValue>? = nil
    /// The steps, in order.
    public var pipeline: [StepDefinition]
}

/// One pipeline step as written.
public struct StepDefinition: Sendable {
    /// Optional `id`, for later steps to read this one's result.
    public var id: Located<String>?
    /// The action's name.
    public var action: Located<String>
    /// Params in file order; values may contain templates.
    public var params: [(name: String, value: Located<JSONValue>)]
    /// Overrides `plugins.step_timeout`.
    public var timeout: Duration?
    /// `when:` — the step runs only if this holds.
    public var when: Located<String>? = nil
    /// Where the step is written.
    public let location: SourceLocation
}
