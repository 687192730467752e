import Yams

/// The keys of the backend side — `api:`, `metrics:`, `broker:` — read in one place.
extension ConfigLoader {
    /// Reads `broker:`.
    static func readBroker(_ node: Node, reader: inout YAMLNodeReader) -> BrokerSettings {
        var settings = BrokerSettings()
        let keys = ["type", "url", "prefix", "node_name", "heartbeat"]
        guard let members = reader.mapping(node, at: "broker", allowed: keys) else { return settings }
        for member in members {
            let path = "broker.\(member.key)"
            switch member.key {
            case "type":
                guard let text = reader.string(member.value, at: path) else { continue }
                guard let kind = BrokerSettings.Kind(rawValue: text) else {
                    reader.fail(member.value, "`broker.type` is `memory` (one node, the default) or `redis` (several nodes), found \"\(text)\"")
                    continue
                }
                settings.kind = kind
            case "url":
                guard let text = reader.string(member.value, at: path) else { continue }
                guard text.hasPrefix("redis://") else {
                    reader.fail(member.value, "`broker.url` must look like redis://[:password@]host:port/db, found \"\(text)\"")
                    continue
                }
                settings.url = text
                settings.urlLocation = reader.location(member.value)
            case "prefix":
                guard let text = reader.string(member.value, at: path) else { continue }
                guard !text.isEmpty, text.utf8.count <= 64, !text.contains(where: { $0 == "{" || $0 == "}" || $0.isWhitespace }) else {
                    reader.fail(member.value, "`broker.prefix` is 1 to 64 characters without spaces or braces, e.g. `godispatch`")
                    continue
                }
                settings.prefix = text
            case "node_name":
                guard let text = reader.string(member.value, at: path) else { continue }
                guard text.utf8.count <= 128, !text.contains(where: \.isWhitespace) else {
                    reader.fail(member.value, "`broker.node_name` is at most 128 characters without spaces (empty: the listener's host:port)")
                    continue
                }
                settings.nodeName = text
            case "heartbeat":
                guard let interval = reader.duration(member.value, at: path) else { continue }
                guard interval >= .milliseconds(100), interval <= .seconds(60) else {
                    reader.fail(member.value, "`broker.heartbeat` must be between 100ms and 60s, e.g. 2s")
                    continue
                }
                settings.heartbeat = interval
            default: break
            }
        }
        return settings
    }

    /// Reads `api:`.
    static func readAPI(_ node: Node, base: String, reader: inout YAMLNodeReader) -> APISettings? {
        let keys = ["listen", "keys", "max_body_bytes", "default_event", "tls"]
        guard let members = reader.mapping(node, at: "api", allowed: keys) else { return nil }
        var settings = APISettings()
        var sawKeys = false
        for member in members {
            let path = "api.\(member.key)"
            switch member.key {
            case "listen":
                guard let (host, port) = readListen(member.value, at: path, example: "127.0.0.1:9000", reader: &reader) else { continue }
                settings.host = host
                settings.port = port
            case "keys":
                sawKeys = true
                settings.keysLocation = reader.location(member.value)
                for key in reader.stringList(member.value, at: path) ?? [] {
                    guard key.value.utf8.count >= 16 else {
                        reader.fail(
                            key.location,
                            "an API key in `api.keys` is \(key.value.utf8.count) bytes; use at least 16 random bytes, "
                                + "e.g. the output of `openssl rand -hex 32`")
                        continue
                    }
                    settings.keys.append(key.value)
                }
            case "max_body_bytes":
                if let value = reader.int(member.value, at: path, range: 1024...(64 << 20)) { settings.maxBodyBytes = value }
            case "default_event":
                guard let text = reader.string(member.value, at: path) else { continue }
                guard !text.isEmpty else {
                    reader.fail(member.value, "`api.default_event` must not be empty; the default is `message`")
                    continue
                }
                settings.defaultEvent = text
            case "tls":
                settings.tls = readTLS(member.value, at: path, allowsClientCA: true, base: base, reader: &reader)
            default: break
            }
        }
        if !sawKeys {
            reader.fail(node, "`api:` needs `keys:`, e.g. keys: [\"${GODISPATCH_API_KEY}\"] (requests must send X-API-Key)")
        }
        return settings
    }

    /// Reads `metrics:`.
    static func readMetrics(_ node: Node, reader: inout YAMLNodeReader) -> MetricsSettings? {
        guard let members = reader.mapping(node, at: "metrics", allowed: ["listen"]) else { return nil }
        var settings: MetricsSettings?
        for member in members where member.key == "listen" {
            if let (host, port) = readListen(member.value, at: "metrics.listen", example: "127.0.0.1:9100", reader: &reader) {
                settings = MetricsSettings(host: host, port: port)
            }
        }
        if members.isEmpty { reader.fail(node, "`metrics:` needs `listen:`, e.g. listen: \"127.0.0.1:9100\"") }
        return settings
    }

    /// Reads a `HOST:PORT` value.
    static func readListen(_ node: Node, at path: String, example: String, reader: inout YAMLNodeReader) -> (String, Int)? {
        guard let text = reader.string(node, at: path) else { return nil }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port), colon > text.startIndex
        else {
            reader.fail(node, "`\(path)` must be HOST:PORT such as \(example), found \"\(text)\"")
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}
