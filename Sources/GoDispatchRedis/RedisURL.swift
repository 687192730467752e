/// Where a Redis server is and how to log in: `redis://[[user]:password@]host[:port][/db]`.
public struct RedisURL: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IPv4 address (an IPv6 address goes in brackets: `redis://[::1]:6379`).
    public var host: String
    /// TCP port; 6379 when the URL names none.
    public var port: Int
    /// ACL user name for `AUTH user password`; nil sends `AUTH password` (the `default` user).
    public var user: String?
    /// Password sent with `AUTH` on every connect; nil sends no `AUTH`.
    public var password: String?
    /// Database number sent with `SELECT` on every connect when not 0.
    public var database: Int

    /// A URL from its parts.
    public init(host: String, port: Int = 6379, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`; percent-escapes in user and password are decoded.
    public init(_ text: String) throws(RedisURLError) {
        let scheme = "redis://"
        guard text.hasPrefix(scheme) else { throw .notRedisScheme(text) }
        var rest = Substring(text.dropFirst(scheme.count))

        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else { throw .invalidDatabase(String(path)) }
                database = number
            }
        }

        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = credentials.firstIndex(of: ":") else { throw .missingPassword }
            let name = credentials[..<colon]
            user = name.isEmpty ? nil : try Self.percentDecoded(name)
            password = try Self.percentDecoded(credentials[credentials.index(after: colon)...])
        }

        var host = rest
        var port = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .missingHost }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()), (1...65535).contains(number) else {
                    throw .invalidPort(String(after.drop { $0 == ":" }))
                }
                port = number
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            let digits = rest[rest.index(after: colon)...]
            guard let number = Int(digits), (1...65535).contains(number) else { throw .invalidPort(String(digits)) }
            port = number
        }
        guard !host.isEmpty else { throw .missingHost }
        self.init(host: String(host), port: port, user: user, password: password, database: database)
    }

    /// The URL with the password masked, safe for logs.
    public var description: String {
        var credentials = ""
        if user != nil || password != nil { credentials = "\(user ?? ""):\(password == nil ? "" : "***")@" }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "redis://\(credentials)\(hostPart):\(port)/\(database)"
    }

    private static func percentDecoded(_ text: Substring) throws(RedisURLError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw .invalidPercentEscape(String(text))
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Why a Redis URL was rejected.
public enum RedisURLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text does not start with `redis://` (TLS `rediss://` and unix sockets are not supported).
    case notRedisScheme(String)
    /// Nothing between `redis://` (or the credentials' `@`) and the port or path.
    case missingHost
    /// The port is not a number in 1…65535.
    case invalidPort(String)
    /// The path is not a database number (`/0`, `/1`, …).
    case invalidDatabase(String)
    /// Credentials without a `:` before the `@`; a password alone is written `redis://:password@host`.
    case missingPassword
    /// A `%` in the user or password not followed by two hex digits.
    case invalidPercentEscape(String)

    /// What is wrong and how a valid URL looks.
    public var description: String {
        let form = "expected redis://[[user]:password@]host[:port][/db]"
        switch self {
        case .notRedisScheme(let text): return "'\(text)' is not a redis:// URL (\(form))"
        case .missingHost: return "the Redis URL names no host (\(form))"
        case .invalidPort(let port): return "the Redis URL's port '\(port)' is not a number in 1…65535"
        case .invalidDatabase(let path): return "the Redis URL's database '\(path)' is not a number ≥ 0 (e.g. /0)"
        case .missingPassword:
            return "the Redis URL has credentials without ':' — write redis://:password@host or "
                + "redis://user:password@host"
        case .invalidPercentEscape: return "the Redis URL's credentials hold a '%' not followed by two hex digits"
        }
    }
}
