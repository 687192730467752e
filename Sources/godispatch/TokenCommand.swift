import ArgumentParser
import Foundation
import GoDispatchCore
import GoDispatchServer
import JWTKit

/// `godispatch token`: mint an HS256 token for development.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Mint an HS256 JWT for development and testing.")

    @Option(name: .long, help: "The user id (the `sub` claim).")
    var sub: String

    @Option(name: .long, help: "Comma-separated permissions (the `perms` claim), e.g. chat:write,room:lobby:write.")
    var perms: String?

    @Option(name: .long, help: "Time to live, e.g. 30m, 1h, 24h.")
    var ttl: String = "1h"

    @Option(name: .long, help: "The HS256 secret.")
    var secret: String?

    @Option(name: .long, help: "Read the secret from this configuration's auth.jwt.secret.")
    var config: String?

    func validate() throws {
        guard (secret == nil) != (config == nil) else {
            throw ValidationError("give exactly one of --secret or --config")
        }
        guard !sub.isEmpty else { throw ValidationError("--sub must not be empty") }
    }

    func run() async throws {
        let key: String
        if let secret {
            key = secret
        } else {
            guard let configured = try Defaults.loadConfig(config!).auth.jwt.secret, !configured.isEmpty else {
                throw ValidationError("\(config!) has no auth.jwt.secret")
            }
            key = configured
        }
        guard let lifetime = TokenCommand.parseDuration(ttl) else {
            throw ValidationError("--ttl must be a duration like 30m, 1h or 3600s")
        }
        let permissions = perms.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        // Whole seconds: RFC 7519 allows a fractional NumericDate, but many tools and libraries expect
        // integers. A lifetime under a second still lasts one.
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let claims = TokenClaims(
            sub: sub, expires: now.addingTimeInterval(max(1, lifetime.rounded(.up))), issuedAt: now, perms: permissions)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .integerSecondsSince1970
        let keys = JWTKeyCollection(defaultJWTSerializer: DefaultJWTSerializer(jsonEncoder: encoder))
        await keys.add(hmac: HMACSecret.key(key, algorithm: "HS256"), digestAlgorithm: .sha256)
        print(try await keys.sign(claims))
    }

    static func parseDuration(_ text: String) -> TimeInterval? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value > 0 { return value * scale }
            return nil
        }
        return Double(text).flatMap { $0 > 0 ? $0 : nil }
    }
}
