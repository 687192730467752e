import Foundation
import JWTKit

/// The claims GoDispatch reads from a token: `sub` (the user id), optional `perms` (global permissions),
/// and the registered time, issuer and audience claims. Also what `godispatch token` mints.
public struct TokenClaims: JWTPayload, Equatable {
    /// The user id.
    public var sub: SubjectClaim?
    /// Expiry.
    public var exp: ExpirationClaim?
    /// Not valid before.
    public var nbf: NotBeforeClaim?
    /// Issued at.
    public var iat: IssuedAtClaim?
    /// Issuer.
    public var iss: IssuerClaim?
    /// Audiences.
    public var aud: AudienceClaim?
    /// Global permissions.
    public var perms: [String]?

    /// Builds claims; every field is optional.
    public init(
        sub: String? = nil, expires: Date? = nil, notBefore: Date? = nil, issuedAt: Date? = nil, issuer: String? = nil,
        audience: String? = nil, perms: [String]? = nil
    ) {
        self.sub = sub.map(SubjectClaim.init(value:))
        self.exp = expires.map(ExpirationClaim.init(value:))
        self.nbf = notBefore.map(NotBeforeClaim.init(value:))
        self.iat = issuedAt.map(IssuedAtClaim.init(value:))
        self.iss = issuer.map(IssuerClaim.init(value:))
        self.aud = audience.map { AudienceClaim(value: [$0]) }
        self.perms = perms
    }

    /// Time, issuer and audience are checked by ``TokenVerifier`` (with the configured leeway).
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}
