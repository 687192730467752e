import Foundation
import GoDispatchCore
import JWTKit

/// Why a token was refused: a short reason for the 401 body and the log (never the token itself).
public struct TokenError: Error, Sendable, Equatable {
    /// E.g. "token expired".
    public let reason: String
}

/// A key in `auth.jwt` that cannot be used; start-up stops with this message.
public struct TokenKeyError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public let message: String
    public var description: String { message }
}

/// Verifies JWTs with jwt-kit against the configured keys, algorithm allow-list and leeway.
public struct TokenVerifier: Sendable {
    /// One key collection per allowed algorithm: the header's `alg` picks the collection, so a token can
    /// never be checked with a key meant for another algorithm.
    private let keysByAlgorithm: [String: JWTKeyCollection]
    /// Clock skew allowed for `exp` and `nbf`, in seconds.
    public let leeway: TimeInterval
    private let now: @Sendable () -> Date

    private let issuer: String?
    private let audience: String?

    /// Builds a verifier from `auth.jwt`: the secret for HS*, a PEM public key or a JWKS for the others.
    public init(settings: JWTSettings, now: @escaping @Sendable () -> Date = Date.init) async throws(TokenKeyError) {
        var keysByAlgorithm: [String: JWTKeyCollection] = [:]
        let pem = try Self.read(settings.publicKeyFile)
        let jwks = try Self.read(settings.jwksFile)
        for algorithm in settings.algorithms {
            let keys = JWTKeyCollection()
            do {
                // HS* use only the shared secret, the others only public keys: no algorithm confusion.
                if algorithm.hasPrefix("HS") {
                    guard let secret = settings.secret, !secret.isEmpty else { continue }
                    await Self.addSecret(secret, algorithm: algorithm, to: keys)
                } else if let jwks {
                    try await keys.add(jwksJSON: jwks)
                } else if let pem {
                    try await Self.addPublicKey(pem, algorithm: algorithm, to: keys)
                } else {
                    continue
                }
            } catch let error as TokenKeyError {
                throw error
            } catch {
                throw TokenKeyError(
                    message: "auth.jwt: cannot use the key for \(algorithm): \(error); check the PEM/JWKS file and the algorithm")
            }
            keysByAlgorithm[algorithm] = keys
        }
        self.keysByAlgorithm = keysByAlgorithm
        self.leeway = settings.leeway.timeInterval
        self.issuer = settings.issuer
        self.audience = settings.audience
        self.now = now
    }

    private static func read(_ path: String?) throws(TokenKeyError) -> String? {
        guard let path else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenKeyError(message: "auth.jwt: cannot read \(path)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func addSecret(_ secret: String, algorithm: String, to keys: JWTKeyCollection) async {
        await keys.add(hmac: HMACSecret.key(secret, algorithm: algorithm), digestAlgorithm: HMACSecret.digest(algorithm))
    }

    private static func addPublicKey(_ pem: String, algorithm: String, to keys: JWTKeyCollection) async throws {
        switch algorithm {
        case "RS256": await keys.add(rsa: try Insecure.RSA.PublicKey(pem: pem), digestAlgorithm: .sha256)
        case "RS384": await keys.add(rsa: try Insecure.RSA.PublicKey(pem: pem), digestAlgorithm: .sha384)
        case "RS512": await keys.add(rsa: try Insecure.RSA.PublicKey(pem: pem), digestAlgorithm: .sha512)
        case "PS256": await keys.add(pss: try Insecure.RSA.PublicKey(pem: pem), digestAlgorithm: .sha256)
        case "ES256": await keys.add(ecdsa: try ES256PublicKey(pem: pem))
        case "ES384": await keys.add(ecdsa: try ES384PublicKey(pem: pem))
        case "EdDSA": await keys.add(eddsa: try EdDSA.PublicKey(pem: pem))
        default: throw TokenKeyError(message: "auth.jwt: unsupported algorithm \(algorithm)")
        }
    }

    /// Longest accepted user id.
    public static let maxUserIDBytes = 256

    /// Verifies a token: algorithm allowed, signature valid, `exp`/`nbf` within leeway, `sub` a non-empty string.
    public func verify(_ token: String) async throws(TokenError) -> RequestMetadata.Identity {
        let algorithm = try Self.headerAlgorithm(of: token)
        guard let keys = keysByAlgorithm[algorithm] else {
            throw TokenError(reason: "algorithm \(algorithm) is not allowed")
        }
        let claims: TokenClaims
        do {
            claims = try await keys.verify(Array(token.utf8), as: TokenClaims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw TokenError(reason: "bad signature")
        } catch {
            throw TokenError(reason: "invalid token")
        }
        let current = now()
        if let exp = claims.exp, exp.value.addingTimeInterval(leeway) < current {
            throw TokenError(reason: "token expired")
        }
        if let nbf = claims.nbf, nbf.value.addingTimeInterval(-leeway) > current {
            throw TokenError(reason: "token not yet valid")
        }
        if let issuer, claims.iss?.value != issuer {
            throw TokenError(reason: "wrong issuer")
        }
        if let audience, !(claims.aud?.value.contains(audience) ?? false) {
            throw TokenError(reason: "wrong audience")
        }
        guard let subject = claims.sub?.value, !subject.isEmpty else {
            throw TokenError(reason: "token has no `sub` (user id)")
        }
        guard subject.utf8.count <= Self.maxUserIDBytes else {
            throw TokenError(reason: "`sub` is longer than \(Self.maxUserIDBytes) bytes")
        }
        return RequestMetadata.Identity(
            userID: subject, permissions: claims.perms ?? [], expiresAt: claims.exp?.value, claims: Self.payload(of: token))
    }

    /// The token's payload (its claims, a JSON object) as signed, for `{{user.claims.<path>}}`; called only
    /// after the signature was verified.
    static func payload(of token: String) -> [UInt8]? {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3, let payload = Base64URL.decode(segments[1]),
            case .object? = try? JSONReader.parse(payload)
        else { return nil }
        return payload
    }

    /// Reads `alg` from the token's header without trusting anything else in it.
    static func headerAlgorithm(of token: String) throws(TokenError) -> String {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3, let header = Base64URL.decode(segments[0]),
            case .object(let fields)? = try? JSONReader.parse(header),
            case .string(let algorithm)? = fields.first(where: { $0.0 == "alg" })?.1
        else {
            throw TokenError(reason: "malformed token")
        }
        return algorithm
    }
}

/// Base64url without padding (RFC 7515).
enum Base64URL {
    static func decode(_ text: Substring) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}

extension Duration {
    /// The duration in seconds.
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
