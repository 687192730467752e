import JWTKit

/// Turns a configured HS* secret into a jwt-kit key.
///
/// jwt-kit asserts that an HMAC key is at least as long as the digest (and says it will become a
/// precondition). HMAC pads a short key with zeros to the block size anyway (RFC 2104 §2), so padding
/// it with zeros to the digest length gives byte-identical signatures while honouring that rule. Short
/// secrets stay weak: `godispatch validate` warns about them.
public enum HMACSecret {
    /// The key for `secret` under `algorithm` (HS256, HS384 or HS512).
    public static func key(_ secret: String, algorithm: String) -> HMACKey {
        let minimum = algorithm == "HS512" ? 64 : algorithm == "HS384" ? 48 : 32
        var bytes = Array(secret.utf8)
        if bytes.count < minimum { bytes += Array(repeating: 0, count: minimum - bytes.count) }
        return HMACKey(from: bytes)
    }

    /// The digest jwt-kit uses for `algorithm`.
    public static func digest(_ algorithm: String) -> DigestAlgorithm {
        algorithm == "HS512" ? .sha512 : algorithm == "HS384" ? .sha384 : .sha256
    }
}
