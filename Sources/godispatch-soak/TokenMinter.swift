import Foundation
import JWTKit

/// The claims a soak token carries: who, and until when. The server checks the signature, `exp` and
/// `sub`; the driver never verifies tokens.
struct SoakClaims: JWTPayload {
    /// The user id.
    var sub: SubjectClaim
    /// Expiry: past the end of the run, so no connection is closed with 4003.
    var exp: ExpirationClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Signs HS256 tokens with the secret the driver hands the server (`GODISPATCH_SOAK_SECRET`), the way
/// `godispatch token` does.
struct TokenMinter: Sendable {
    /// The HS256 secret, also given to the server.
    let secret: String
    private let keys: JWTKeyCollection
    private let lifetime: TimeInterval

    /// A minter whose tokens live `lifetime` seconds; the secret is at least 32 bytes, so jwt-kit takes it
    /// as is and the server (which pads shorter secrets) derives the same key.
    init(secret: String, lifetime: TimeInterval) async {
        precondition(secret.utf8.count >= 32, "an HS256 secret needs 32 bytes")
        self.secret = secret
        self.lifetime = lifetime
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    }

    /// A fresh random secret: 32 random bytes in hex.
    static func randomSecret() -> String {
        (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    /// A token for `user`.
    func token(for user: String) async throws -> String {
        try await keys.sign(
            SoakClaims(sub: SubjectClaim(value: user), exp: ExpirationClaim(value: Date().addingTimeInterval(lifetime)))
        )
    }
}
