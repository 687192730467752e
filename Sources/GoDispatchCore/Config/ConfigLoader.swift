import Foundation
import Yams

/// Loads a YAML configuration into an ``EngineConfig``, reporting every problem with file:line:column.
public struct ConfigLoader: Sendable {
    /// Variables for `${VAR}` substitution.
    public let environment: [String: String]

    /// Reads `${VAR}` from `environment` (the process environment by default).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Reads and parses a file.
    public func load(file path: String) throws(ConfigErrors) -> EngineConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigErrors([ConfigError(SourceLocation(file: path, line: 1, column: 1), "cannot read the file")])
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Parses YAML text; `file` names it in errors and anchors relative paths.
    public func parse(_ yaml: String, file: String) throws(ConfigErrors) -> EngineConfig {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw ConfigErrors([ConfigError(SourceLocation(file: file, line: 1, column: 1), "the file is empty")])
            }
            root = node
        } catch let errors as ConfigErrors {
            throw errors
        } catch {
            throw ConfigErrors([Self.syntaxError(error, file: file)])
        }
        var reader = YAMLNodeReader(file: file, substitution: EnvironmentSubstitution(environment: environment))
        let config = Self.read(root, reader: &reader, file: file)
        if !reader.errors.isEmpty { throw ConfigErrors(reader.errors) }
        return config
    }

    private static func syntaxError(_ error: any Error, file: String) -> ConfigError {
        if let yaml = error as? YamlError {
            switch yaml {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                .composer(let context, let problem, let mark, _):
                let where_ = context.map { " \($0.text)" } ?? ""
                return ConfigError(
                    SourceLocation(file: file, line: mark.line, column: mark.column),
                    "YAML syntax: \(problem)\(where_); check indentation and quoting")
            default: break
            }
        }
        return ConfigError(SourceLocation(file: file, line: 1, column: 1), "YAML syntax: \(error)")
    }

    static let topLevelKeys = ["server", "auth", "connections", "plugins", "lifecycle", "events", "server_events", "rooms", "api", "metrics", "broker"]

    private static func read(_ root: Node, reader: inout YAMLNodeReader, file: String) -> EngineConfig {
        let baseDirectory = URL(fileURLWithPath: file).deletingLastPathComponent().path
        var config = EngineConfig(
            file: file, server: ServerSettings(), auth: AuthSettings(jwt: JWTSettings()),
            connections: ConnectionSettings(),
            plugins: PluginSettings(directory: resolve("plugins", against: baseDirectory)), events: [])
        guard let members = reader.mapping(root, at: "(top level)", allowed: topLevelKeys) else { return config }
        var sawAuth = false
        var sawEvents = false
        for member in members {
            switch member.key {
            case "server": readServer(member.value, into: &config.server, base: baseDirectory, reader: &reader)
            case "auth":
                sawAuth = true
                readAuth(member.value, into: &config.auth, base: baseDirectory, reader: &reader)
            case "connections": readConnections(member.value, into: &config.connections, reader: &reader)
            case "plugins": readPlugins(member.value, into: &config.plugins, base: baseDirectory, reader: &reader)
            case "events":
                sawEvents = true
                config.events = readEvents(member.value, reader: &reader)
            case "lifecycle":
                config.lifecycle = readLifecycle(member.value, reader: &reader)
            case "server_events": config.serverEvents = readServerEvents(member.value, reader: &reader)
            case "rooms": config.rooms = RoomRules(readRooms(member.value, reader: &reader))
            case "api": config.api = readAPI(member.value, base: baseDirectory, reader: &reader)
            case "metrics": config.metrics = readMetrics(member.value, reader: &reader)
            case "broker": config.broker = readBroker(member.value, reader: &reader)
            default: break
            }
        }
        let top = SourceLocation(file: file, line: 1, column: 1)
        if !sawAuth {
            reader.fail(top, "missing `auth:`; every connection needs a JWT: add auth: { jwt: { secret: \"${GODISPATCH_JWT_SECRET}\" } }")
        }
        if !sawEvents { reader.fail(top, "missing `events:`; declare at least one event clients may send") }
        if config.server.drainDelay >= config.server.shutdownTimeout, config.server.drainDelay > .zero {
            reader.fail(
                top,
                "`server.drain_delay` (\(config.server.drainDelay)) must be shorter than `server.shutdown_timeout` "
                    + "(\(config.server.shutdownTimeout)), which counts from SIGTERM; raise shutdown_timeout")
        }
        return config
    }

    /// `path` made absolute against the configuration's folder `base`.
    static func resolve(_ path: String, against base: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
    }

    private static func readServer(
        _ node: Node, into server: inout ServerSettings, base: String, reader: inout YAMLNodeReader
    ) {
        let keys = [
            "listen", "path", "max_message_bytes", "ping_interval", "idle_timeout", "max_outbound_bytes", "allowed_origins",
            "shutdown_timeout", "drain_delay", "tls",
        ] + handshakeKeys
        guard let members = reader.mapping(node, at: "server", allowed: keys) else { return }
        for member in members {
            let path = "server.\(member.key)"
            switch member.key {
            case "listen":
                guard let (host, port) = readListen(member.value, at: path, example: "127.0.0.1:8080", reader: &reader) else { continue }
                server.host = host
                server.port = port
            case "path":
                guard let text = reader.string(member.value, at: path) else { continue }
                guard text.hasPrefix("/") else {
                    reader.fail(member.value, "`server.path` must start with `/`, e.g. /ws")
                    continue
                }
                server.path = text
            case "max_message_bytes":
                if let value = reader.int(member.value, at: path, range: 64...(16 << 20)) { server.maxMessageBytes = value }
            case "max_outbound_bytes":
                if let value = reader.int(member.value, at: path, range: 1024...(1 << 30)) { server.maxOutboundBytes = value }
            case "ping_interval":
                if let value = reader.duration(member.value, at: path) { server.pingInterval = value }
            case "idle_timeout":
                if let value = reader.duration(member.value, at: path) { server.idleTimeout = value }
            case "allowed_origins":
                server.allowedOrigins = reader.stringList(member.value, at: path)?.map(\.value) ?? []
            case "shutdown_timeout":
                if let value = reader.duration(member.value, at: path) { server.shutdownTimeout = value }
            case "drain_delay":
                if let value = reader.duration(member.value, at: path) { server.drainDelay = value }
            case "handshake_timeout", "max_pending_handshakes":
                readHandshake(member.key, member.value, into: &server, reader: &reader)
            case "tls":
                server.tls = readTLS(member.value, at: path, allowsClientCA: false, base: base, reader: &reader)
            default: break
            }
        }
    }

    /// Algorithms `auth.jwt.algorithms` may list.
    public static let knownAlgorithms = [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA",
    ]

    private static func readAuth(
        _ node: Node, into auth: inout AuthSettings, base: String, reader: inout YAMLNodeReader
    ) {
        guard let members = reader.mapping(node, at: "auth", allowed: ["jwt"]) else { return }
        guard let jwtNode = members.first(where: { $0.key == "jwt" })?.value else {
            reader.fail(node, "`auth` needs `jwt:` with at least `secret:`")
            return
        }
        let keys = ["algorithms", "secret", "leeway", "public_key_file", "jwks_file", "issuer", "audience"]
        guard let jwtMembers = reader.mapping(jwtNode, at: "auth.jwt", allowed: keys) else { return }
        for member in jwtMembers {
            let path = "auth.jwt.\(member.key)"
            switch member.key {
            case "algorithms":
                guard let list = reader.stringList(member.value, at: path) else { continue }
                for item in list where !knownAlgorithms.contains(item.value) {
                    reader.fail(
                        item.location,
                        "unsupported algorithm \"\(item.value)\"; supported: \(knownAlgorithms.joined(separator: ", "))")
                }
                if list.isEmpty { reader.fail(member.value, "`auth.jwt.algorithms` must list at least one algorithm") }
                auth.jwt.algorithms = list.map(\.value)
            case "secret":
                auth.jwt.secret = reader.string(member.value, at: path)
                auth.jwt.secretLocation = reader.location(member.value)
            case "leeway":
                if let value = reader.duration(member.value, at: path) { auth.jwt.leeway = value }
            case "public_key_file":
                auth.jwt.publicKeyFile = reader.string(member.value, at: path).map { resolve($0, against: base) }
            case "jwks_file":
                auth.jwt.jwksFile = reader.string(member.value, at: path).map { resolve($0, against: base) }
            case "issuer":
                auth.jwt.issuer = reader.string(member.value, at: path)
            case "audience":
                auth.jwt.audience = reader.string(member.value, at: path)
            default: break
            }
        }
        if auth.jwt.algorithms.contains(where: { $0.hasPrefix("HS") }), (auth.jwt.secret ?? "").isEmpty,
            !jwtMembers.contains(where: { $0.key == "secret" })
        {
            reader.fail(jwtNode, "`auth.jwt` needs `secret:` for HS algorithms, e.g. secret: \"${GODISPATCH_JWT_SECRET}\"")
        }
        if auth.jwt.algorithms.contains(where: { !$0.hasPrefix("HS") }), auth.jwt.publicKeyFile == nil,
            auth.jwt.jwksFile == nil
        {
            reader.fail(jwtNode, "`auth.jwt` lists an asymmetric algorithm: add `public_key_file:` (PEM) or `jwks_file:`")
        }
    }

    private static func readConnections(_ node: Node, into settings: inout ConnectionSettings, reader: inout YAMLNodeReader) {
        let keys = [
            "per_user_limit", "strategy", "max_total", "max_rooms_per_connection", "rate_limit", "max_inbox_bytes", "per_ip",
        ]
        guard let members = reader.mapping(node, at: "connections", allowed: keys) else { return }
        for member in members {
            let path = "connections.\(member.key)"
            switch member.key {
            case "per_user_limit":
                settings.perUserLimit = reader.int(member.value, at: path, range: 1...1_000_000)
            case "strategy":
                guard let text = reader.string(member.value, at: path) else { continue }
                guard let strategy = ConnectionLimitStrategy(rawValue: text) else {
                    reader.fail(member.value, "`connections.strategy` must be reject or cycle, found \"\(text)\"")
                    continue
                }
                settings.strategy = strategy
            case "max_total":
                settings.maxTotal = reader.int(member.value, at: path, range: 1...10_000_000)
            case "max_rooms_per_connection":
                if let value = reader.int(member.value, at: path, range: 1...1_000_000) { settings.maxRoomsPerConnection = value }
            case "rate_limit":
                settings.rateLimit = readRateLimit(member.value, reader: &reader)
            case "max_inbox_bytes":
                if let value = reader.int(member.value, at: path, range: 1024...(1 << 30)) { settings.maxInboxBytes = value }
            case "per_ip":
                settings.perIP = readPerIP(member.value, reader: &reader)
            default: break
            }
        }
    }

    private static func readRateLimit(_ node: Node, reader: inout YAMLNodeReader) -> RateLimitSettings? {
        readTokenBucket(
            node, at: "connections.rate_limit", countKey: "messages", example: "{ messages: 20, per: 1s, burst: 40 }",
            reader: &reader
        ).map { RateLimitSettings(messages: $0.count, per: $0.per, burst: $0.burst) }
    }

    /// A token bucket as written: `{ <countKey>: N, per: 1s, burst: N }` (`per` defaults to 1s, `burst`
    /// to the count); `per` must be longer than 0.
    static func readTokenBucket(
        _ node: Node, at path: String, countKey: String, example: String, reader: inout YAMLNodeReader
    ) -> (count: Int, per: Duration, burst: Int)? {
        guard let members = reader.mapping(node, at: path, allowed: [countKey, "per", "burst"]) else { return nil }
        var count: Int?
        var per: Duration = .seconds(1)
        var burst: Int?
        for member in members {
            switch member.key {
            case countKey: count = reader.int(member.value, at: "\(path).\(countKey)", range: 1...1_000_000)
            case "per":
                guard let value = reader.duration(member.value, at: "\(path).per") else { continue }
                guard value > .zero else {
                    reader.fail(member.value, "`\(path).per` must be longer than 0, e.g. 1s")
                    continue
                }
                per = value
            case "burst": burst = reader.int(member.value, at: "\(path).burst", range: 1...1_000_000)
            default: break
            }
        }
        guard let count else {
            if !members.contains(where: { $0.key == countKey }) {
                reader.fail(node, "`\(path)` needs `\(countKey):`, e.g. \(example)")
            }
            return nil
        }
        return (count, per, burst ?? count)
    }

    private static func readPlugins(
        _ node: Node, into settings: inout PluginSettings, base: String, reader: inout YAMLNodeReader
    ) {
        guard let members = reader.mapping(node, at: "plugins", allowed: ["directory", "step_timeout", "settings", "http"]) else {
            return
        }
        for member in members {
            switch member.key {
            case "directory":
                // One path, or a list of paths (loaded in order).
                let entries: [Located<String>]?
                if case .sequence = member.value {
                    entries = reader.stringList(member.value, at: "plugins.directory")
                } else {
                    entries = reader.string(member.value, at: "plugins.directory").map { [Located(value: $0, location: reader.location(member.value))] }
                }
                guard let entries else { continue }
                guard !entries.isEmpty else {
                    reader.fail(member.value, "`plugins.directory` lists no folder; give at least one, e.g. [dist/plugins, plugins]")
                    continue
                }
                settings.directories = entries.map { resolve($0.value, against: base) }
                settings.directoryLocations = entries.map(\.location)
            case "step_timeout":
                if let value = reader.duration(member.value, at: "plugins.step_timeout") { settings.stepTimeout = value }
            case "http":
                guard let http = reader.mapping(member.value, at: "plugins.http", allowed: ["max_in_flight"]) else { continue }
                for field in http where field.key == "max_in_flight" {
                    if let value = reader.int(field.value, at: "plugins.http.max_in_flight", range: 1...1_000_000) {
                        settings.maxHTTPInFlight = value
                    }
                }
            case "settings":
                guard let plugins = reader.mapping(member.value, at: "plugins.settings", allowed: nil) else { continue }
                for plugin in plugins {
                    if let value = reader.json(plugin.value, at: "plugins.settings.\(plugin.key)") {
                        settings.settings[plugin.key] = value
                    }
                }
            default: break
            }
        }
    }

    private static func readEvents(_ node: Node, reader: inout YAMLNodeReader) -> [EventDefinition] {
        guard let members = reader.mapping(node, at: "events", allowed: nil) else { return [] }
        var events: [EventDefinition] = []
        for member in members {
            let name = member.key
            if name.isEmpty || name == "error" || name.hasPrefix(SystemEvents.prefix) {
                reader.fail(
                    member.keyNode,
                    "`\(name)` cannot be an event name: `error` and `\(SystemEvents.prefix)*` are reserved for the engine")
                continue
            }
            let path = "events.\(name)"
            var event = EventDefinition(name: name, location: reader.location(member.keyNode), requires: [], pipeline: [])
            guard let fields = reader.mapping(member.value, at: path, allowed: ["requires", "payload_schema", "pipeline"]) else {
                continue
            }
            var sawPipeline = false
            for field in fields {
                switch field.key {
                case "requires":
                    event.requires = reader.stringList(field.value, at: "\(path).requires") ?? []
                case "payload_schema":
                    if let schema = reader.json(field.value, at: "\(path).payload_schema") {
                        event.payloadSchema = Located(value: schema, location: reader.location(field.value))
                    }
                case "pipeline":
                    sawPipeline = true
                    guard let steps = reader.sequence(field.value, at: "\(path).pipeline") else { continue }
                    for (index, stepNode) in steps.enumerated() {
                        if let step = readStep(stepNode, at: "\(path).pipeline[\(index)]", reader: &reader) {
                            event.pipeline.append(step)
                        }
                    }
                default: break
                }
            }
            if !sawPipeline { reader.fail(member.keyNode, "event `\(name)` has no `pipeline:`; list at least one step") }
            events.append(event)
        }
        return events
    }

    private static func readLifecycle(_ node: Node, reader: inout YAMLNodeReader) -> [EventDefinition] {
        guard let members = reader.mapping(node, at: "lifecycle", allowed: ["connect", "disconnect"]) else { return [] }
        var hooks: [EventDefinition] = []
        for member in members {
            let path = "lifecycle.\(member.key)"
            var hook = EventDefinition(name: path, location: reader.location(member.keyNode), requires: [], pipeline: [])
            guard let fields = reader.mapping(member.value, at: path, allowed: ["pipeline"]),
                let pipeline = fields.first(where: { $0.key == "pipeline" })
            else {
                reader.fail(member.keyNode, "`\(path)` needs `pipeline:`")
                continue
            }
            guard let steps = reader.sequence(pipeline.value, at: "\(path).pipeline") else { continue }
            for (index, stepNode) in steps.enumerated() {
                if let step = readStep(stepNode, at: "\(path).pipeline[\(index)]", reader: &reader) { hook.pipeline.append(step) }
            }
            hooks.append(hook)
        }
        return hooks
    }

    static func readStep(_ node: Node, at path: String, reader: inout YAMLNodeReader) -> StepDefinition? {
        guard let fields = reader.mapping(node, at: path, allowed: ["id", "action", "params", "timeout", "when"]) else {
            return nil
        }
        var when: Located<String>?
        var id: Located<String>?
        var action: Located<String>?
        var params: [(name: String, value: Located<JSONValue>)] = []
        var timeout: Duration?
        for field in fields {
            switch field.key {
            case "id":
                guard let text = reader.string(field.value, at: "\(path).id") else { continue }
                guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
                else {
                    reader.fail(field.value, "step id \"\(text)\" must be letters, digits, `_` or `-`")
                    continue
                }
                id = Located(value: text, location: reader.location(field.value))
            case "action":
                if let text = reader.string(field.value, at: "\(path).action") {
                    action = Located(value: text, location: reader.location(field.value))
                }
            case "params":
                guard let members = reader.mapping(field.value, at: "\(path).params", allowed: nil) else { continue }
                for member in members {
                    if let value = reader.json(member.value, at: "\(path).params.\(member.key)") {
                        params.append((member.key, Located(value: value, location: reader.location(member.value))))
                    }
                }
            case "timeout":
                timeout = reader.duration(field.value, at: "\(path).timeout")
            case "when":
                if let text = reader.string(field.value, at: "\(path).when") {
                    when = Located(value: text, location: reader.location(field.value))
                }
            default: break
            }
        }
        guard let action else {
            reader.fail(node, "`\(path)` needs `action:`, the name of the action to run")
            return nil
        }
        return StepDefinition(
            id: id, action: action, params: params, timeout: timeout, when: when, location: reader.location(node))
    }
}
