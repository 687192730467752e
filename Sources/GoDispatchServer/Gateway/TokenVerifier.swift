import Foundation
import GoDispatchCore
import JWTKit

/// Why a token was refused: a short reason for the 401 body and the log (never the token itself).
public struct TokenError: Error, Sendable, Equatable {
    /// E.g. "token expired".
    public let reason: String
}

/// The claims GoDispatch reads: `sub` (the user id), optional `perms`, `exp`, `nbf`.
struct GoDispatchClaims: JWTPayload {
    var sub: SubjectClaim?
    var exp: ExpirationClaim?
    var nbf: NotBeforeClaim?
    var perms: [String]?

    /// Time checks are done by ``TokenVerifier`` with the configured leeway.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Verifies JWTs with jwt-kit against the configured keys, algorithm allow-list and leeway.
public struct TokenVerifier: Sendable {
    /// One key collection per allowed algorithm: the header's `alg` picks the collection, so a token can
    /// never be checked with a key meant for another algorithm.
    private let keysByAlgorithm: [String: JWTKeyCollection]
    private let leeway: TimeInterval
    private let now: @Sendable () -> Date

    /// Builds a verifier from `auth.jwt`.
    public init(settings: JWTSettings, now: @escaping @Sendable () -> Date = Date.init) async {
        var keysByAlgorithm: [String: JWTKeyCollection] = [:]
        if let secret = settings.secret, !secret.isEmpty {
            let key = HMACKey(from: secret)
            for algorithm in settings.algorithms {
                let keys = JWTKeyCollection()
                switch algorithm {
                case "HS256": await keys.add(hmac: key, digestAlgorithm: .sha256)
                case "HS384": await keys.add(hmac: key, digestAlgorithm: .sha384)
                case "HS512": await keys.add(hmac: key, digestAlgorithm: .sha512)
                default: continue
                }
                keysByAlgorithm[algorithm] = keys
            }
        }
        self.keysByAlgorithm = keysByAlgorithm
        self.leeway = settings.leeway.timeInterval
        self.now = now
    }

    /// Verifies a token: algorithm allowed, signature valid, `exp`/`nbf` within leeway, `sub` a non-empty string.
    public func verify(_ token: String) async throws(TokenError) -> RequestMetadata.Identity {
        let algorithm = try Self.headerAlgorithm(of: token)
        guard let keys = keysByAlgorithm[algorithm] else {
            throw TokenError(reason: "algorithm \(algorithm) is not allowed")
        }
        let claims: GoDispatchClaims
        do {
            claims = try await keys.verify(Array(token.utf8), as: GoDispatchClaims.self)
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
        guard let subject = claims.sub?.value, !subject.isEmpty else {
            throw TokenError(reason: "token has no `sub` (user id)")
        }
        return RequestMetadata.Identity(userID: subject, permissions: claims.perms ?? [], expiresAt: claims.exp?.value)
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
