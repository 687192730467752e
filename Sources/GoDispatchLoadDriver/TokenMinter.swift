import Foundation
import JWTKit

/// The claims a driver's token carries: who, and until when. The server checks the signature, `exp` and
/// `sub`; the driver never verifies tokens.
public struct DriverClaims: JWTPayload {
    /// The user id.
    public var sub: SubjectClaim
    /// Expiry: past the end of the run, so no connection is closed with 4003.
    public var exp: ExpirationClaim

    /// The driver never verifies its own tokens.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Signs HS256 tokens with the secret a load driver hands the server (in an environment variable), the way
/// `godispatch token` does.
public struct TokenMinter: Sendable {
    /// The HS256 secret, also given to the server.
    public let secret: String
    private let keys: JWTKeyCollection
    private let lifetime: TimeInterval

    /// A minter whose tokens live `lifetime` seconds; the secret is at least 32 bytes, so jwt-kit takes it
    /// as is and the server (which pads shorter secrets) derives the same key.
    public init(secret: String, lifetime: TimeInterval) async {
        precondition(secret.utf8.count >= 32, "an HS256 secret needs 32 bytes")
        self.secret = secret
        self.lifetime = lifetime
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    }

    /// A fresh random secret: 32 random bytes in hex.
    public static func randomSecret() -> String {
        (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    /// A token for `user`.
    public func token(for user: String) async throws -> String {
        try await keys.sign(
            DriverClaims(sub: SubjectClaim(value: user), exp: ExpirationClaim(value: Date().addingTimeInterval(lifetime)))
        )
    }
}
