import Crypto
import Foundation
import GoDispatchClient
import GoDispatchCore
import GoDispatchServer
import JWTKit
import Testing
import _CryptoExtras

/// A signing key made in the test, and the PEM public key the server is configured with.
struct TestKey {
    let algorithm: String
    let publicPEM: String?
    let keys: JWTKeyCollection

    static func make(_ algorithm: String) async throws -> TestKey {
        let keys = JWTKeyCollection()
        switch algorithm {
        case "HS256", "HS384", "HS512":
            await keys.add(
                hmac: HMACSecret.key(ServerHarness.secret, algorithm: algorithm), digestAlgorithm: HMACSecret.digest(algorithm))
            return TestKey(algorithm: algorithm, publicPEM: nil, keys: keys)
        case "RS256", "RS384", "RS512", "PS256":
            let key = try Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
            let digest: DigestAlgorithm = algorithm.hasSuffix("384") ? .sha384 : algorithm.hasSuffix("512") ? .sha512 : .sha256
            if algorithm.hasPrefix("PS") {
                await keys.add(pss: key, digestAlgorithm: digest)
            } else {
                await keys.add(rsa: key, digestAlgorithm: digest)
            }
            return TestKey(algorithm: algorithm, publicPEM: key.publicKey.pemRepresentation, keys: keys)
        case "ES256":
            let key = ES256PrivateKey()
            await keys.add(ecdsa: key)
            return TestKey(algorithm: algorithm, publicPEM: key.publicKey.pemRepresentation, keys: keys)
        case "ES384":
            let key = ES384PrivateKey()
            await keys.add(ecdsa: key)
            return TestKey(algorithm: algorithm, publicPEM: key.publicKey.pemRepresentation, keys: keys)
        default:
            let raw = Curve25519.Signing.PrivateKey()
            await keys.add(eddsa: EdDSA.PrivateKey(backing: raw))
            return TestKey(algorithm: algorithm, publicPEM: raw.publicKey.pemRepresentation, keys: keys)
        }
    }

    func sign(_ claims: TokenClaims) async throws -> String { try await keys.sign(claims) }

    func token(sub: String = "alice") async throws -> String {
        try await sign(TokenClaims(sub: sub, expires: Date().addingTimeInterval(600)))
    }

    /// The `auth:` block of a server that allows only `algorithms`, keyed for this key.
    func authBlock(allowing algorithms: [String]) throws -> String {
        var block = "jwt: { algorithms: [\(algorithms.joined(separator: ", "))], secret: \"\(ServerHarness.secret)\""
        if let publicPEM {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("gd-key-\(UUID().uuidString).pem").path
            try publicPEM.write(toFile: file, atomically: true, encoding: .utf8)
            block += ", public_key_file: \"\(file)\""
        }
        return block + " }"
    }
}

@Suite("Security: tokens, live permissions, abuse limits")
struct SecurityTests {
    static let algorithms = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]

    @Test("every algorithm is accepted when allowed and refused when not", arguments: algorithms)
    func algorithmAllowList(_ algorithm: String) async throws {
        let key = try await TestKey.make(algorithm)
        let allowed = try await ServerHarness(auth: try key.authBlock(allowing: [algorithm]))
        #expect(await allowed.refusal(token: try await key.token()) == nil, "\(algorithm) allowed")
        await allowed.stop()
        // Same key material, but the server allows only another algorithm.
        let other = algorithm == "HS256" ? "HS512" : "HS256"
        let refusing = try await ServerHarness(auth: try key.authBlock(allowing: [other]))
        let refusal = await refusing.refusal(token: try await key.token())
        #expect(refusal?.status == 401)
        #expect(refusal?.body == "algorithm \(algorithm) is not allowed")
        await refusing.stop()
    }

    @Test func anHS256TokenSignedWithThePublicKeyIsRefused() async throws {
        // The classic HS/RS confusion: the attacker uses the (public) RSA key as an HMAC secret.
        let rsa = try await TestKey.make("RS256")
        let h = try await ServerHarness(auth: try rsa.authBlock(allowing: ["RS256", "HS256"]))
        let forged = JWTKeyCollection()
        await forged.add(hmac: HMACKey(from: rsa.publicPEM!), digestAlgorithm: .sha256)
        let token = try await forged.sign(TokenClaims(sub: "mallory", expires: Date().addingTimeInterval(600)))
        #expect(await h.refusal(token: token)?.status == 401)
        #expect(await h.refusal(token: try await rsa.token()) == nil)
        await h.stop()
    }

    @Test func aJWKSFilePicksTheKeyByKid() async throws {
        let first = ES256PrivateKey()
        let second = ES256PrivateKey()
        func jwk(_ key: ES256PrivateKey, kid: String) -> String {
            let p = key.publicKey.parameters!
            return #"{"kty":"EC","crv":"P-256","alg":"ES256","kid":"\#(kid)","x":"\#(p.x)","y":"\#(p.y)"}"#
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gd-jwks-\(UUID().uuidString).json").path
        try #"{"keys":[\#(jwk(first, kid: "k1")),\#(jwk(second, kid: "k2"))]}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let h = try await ServerHarness(auth: "jwt: { algorithms: [ES256], jwks_file: \"\(file)\" }")
        func token(signedBy key: ES256PrivateKey, kid: String) async throws -> String {
            let keys = JWTKeyCollection()
            await keys.add(ecdsa: key, kid: JWKIdentifier(string: kid))
            return try await keys.sign(
                TokenClaims(sub: "alice", expires: Date().addingTimeInterval(600)), kid: JWKIdentifier(string: kid))
        }
        #expect(await h.refusal(token: try await token(signedBy: first, kid: "k1")) == nil)
        #expect(await h.refusal(token: try await token(signedBy: second, kid: "k2")) == nil)
        #expect(await h.refusal(token: try await token(signedBy: second, kid: "k1"))?.status == 401, "kid names another key")
        await h.stop()
    }

    @Test func timeIssuerAndAudienceAreChecked() async throws {
        let key = try await TestKey.make("HS256")
        let h = try await ServerHarness(
            auth: "jwt: { secret: \"\(ServerHarness.secret)\", leeway: 1s, issuer: https://auth.example, audience: chat }")
        func claims(
            exp: TimeInterval = 600, nbf: TimeInterval? = nil, iss: String? = "https://auth.example", aud: String? = "chat"
        ) -> TokenClaims {
            TokenClaims(
                sub: "alice", expires: Date().addingTimeInterval(exp), notBefore: nbf.map { Date().addingTimeInterval($0) },
                issuer: iss, audience: aud)
        }
        #expect(await h.refusal(token: try await key.sign(claims())) == nil)
        #expect(await h.refusal(token: try await key.sign(claims(exp: -30)))?.body == "token expired")
        #expect(await h.refusal(token: try await key.sign(claims(nbf: 60)))?.body == "token not yet valid")
        #expect(await h.refusal(token: try await key.sign(claims(iss: "https://evil.example")))?.body == "wrong issuer")
        #expect(await h.refusal(token: try await key.sign(claims(iss: nil)))?.body == "wrong issuer")
        #expect(await h.refusal(token: try await key.sign(claims(aud: "billing")))?.body == "wrong audience")
        await h.stop()
    }

    @Test func anUnrefreshedTokenClosesTheConnectionWith4003() async throws {
        let clock = ManualWallClock()
        let h = try await ServerHarness(auth: "jwt: { secret: \"\(ServerHarness.secret)\", leeway: 0s }", clock: { clock.now })
        let client = try await h.connect(token: try await ServerHarness.token(expiresIn: 60, now: clock.now))
        try await client.send(#"{"event":"echo","payload":1}"#)
        #expect(await client.nextJSON()?["payload"] == .number("1"), "alive before its token expires")
        clock.advance(by: 61)
        #expect(await client.closeCode() == 4003)
        await h.stop()
    }

    @Test func refreshInTimeKeepsTheConnectionAndReplacesPermissions() async throws {
        let clock = ManualWallClock()
        let h = try await ServerHarness(auth: "jwt: { secret: \"\(ServerHarness.secret)\", leeway: 0s }", clock: { clock.now })
        let client = try await h.connect(token: try await ServerHarness.token(expiresIn: 60, now: clock.now))
        let fresh = try await ServerHarness.token(perms: ["chat:write"], expiresIn: 3600, now: clock.now)
        try await client.send(#"{"event":"auth.refresh","payload":{"token":"\#(fresh)"}}"#)
        let refreshed = try #require(await client.nextJSON())
        #expect(refreshed["event"] == .string("auth.refreshed"))
        // Past the first token's expiry (and a few sweeps later), the connection stays.
        clock.advance(by: 61)
        for round in 0..<3 {
            try await client.send(#"{"event":"echo","payload":\#(round)}"#)
            #expect(await client.nextJSON()?["payload"] == .number("\(round)"))
            try await Task.sleep(for: .seconds(1))  // let a sweep (every second) judge the new deadline
        }
        try await client.send(#"{"event":"room.join","target":"lobby"}"#)
        #expect(await client.nextJSON()?["event"] == .string("joined"))
        try await client.send(#"{"event":"chat.send","target":"lobby","payload":{"text":"now allowed"}}"#)
        #expect(await client.nextJSON()?["event"] == .string("chat.message"), "perms from the refreshed token apply")
        await h.stop()
    }

    @Test func aRefreshForAnotherUserCloses4003AndABadOneIsRefused() async throws {
        let h = try await ServerHarness()
        let client = try await h.connect(token: try await ServerHarness.token(sub: "alice"))
        try await client.send(#"{"event":"auth.refresh","id":1,"payload":{"token":"garbage"}}"#)
        let refused = try #require(await client.nextJSON())
        #expect(refused.errorCode == "unauthorized")
        #expect(refused["payload"]?["ref"] == .number("1"))
        let other = try await ServerHarness.token(sub: "mallory")
        try await client.send(#"{"event":"auth.refresh","payload":{"token":"\#(other)"}}"#)
        #expect(await client.closeCode() == 4003)
        await h.stop()
    }

    static let moderationEvents = """
        events:
          room.join:
            pipeline:
              - action: _join
                params: { room: "{{target}}" }
              - action: _notify_origin
                params: { event: joined }
          chat.send:
            requires: [chat:write]
            pipeline:
              - action: _notify_room
                params: { room: "{{target}}", event: chat.message, payload: "{{payload}}" }
          announce:
            pipeline:
              - action: _notify_room
                params: { room: "{{target}}", event: announcement, payload: "{{payload}}", allow_non_member: "room:{{target}}:announce" }
          vip.join:
            pipeline:
              - action: _join
                params: { room: vip, permission: vip }
              - action: _notify_origin
                params: { event: joined }
          mod.mute:
            requires: [moderator]
            pipeline:
              - action: _set_permissions
                params: { user: "{{target}}", remove: [chat:write] }
              - action: _notify_origin
                params: { event: done }
          mod.unmute:
            requires: [moderator]
            pipeline:
              - action: _set_permissions
                params: { user: "{{target}}", add: [chat:write] }
              - action: _notify_origin
                params: { event: done }
          mod.ban:
            requires: [moderator]
            pipeline:
              - action: _disconnect
                params: { user: "{{target}}", code: 4008, reason: "banned by {{user.id}}" }
        """

    @Test func revokingAPermissionAppliesToTheNextMessageOfEveryConnection() async throws {
        let h = try await ServerHarness(events: Self.moderationEvents)
        let mod = try await h.connect("mod", perms: ["moderator"])
        let phone = try await h.connect("bob", perms: ["chat:write"])
        let laptop = try await h.connect("bob", perms: ["chat:write"])
        for client in [phone, laptop] {
            try await client.send(#"{"event":"room.join","target":"lobby"}"#)
            #expect(await client.nextJSON()?["event"] == .string("joined"))
        }
        try await mod.send(#"{"event":"mod.mute","target":"bob"}"#)
        #expect(await mod.nextJSON()?["event"] == .string("done"))
        for client in [phone, laptop] {
            try await client.send(#"{"event":"chat.send","target":"lobby","payload":1}"#)
            #expect(await client.nextJSON()?.errorCode == "forbidden")
        }
        try await mod.send(#"{"event":"mod.unmute","target":"bob"}"#)
        #expect(await mod.nextJSON()?["event"] == .string("done"))
        try await laptop.send(#"{"event":"chat.send","target":"lobby","payload":2}"#)
        #expect(await phone.nextJSON()?["payload"] == .number("2"), "granted back without reconnecting")
        // A user without `moderator` cannot mute.
        try await phone.send(#"{"event":"mod.mute","target":"mod"}"#)
        #expect(await phone.nextJSON()?.errorCode == "forbidden")
        try await mod.send(#"{"event":"mod.ban","target":"bob"}"#)
        #expect(await phone.closeCode() == 4008)
        await h.stop()
    }

    @Test func roomGuardsRefuseNonMembersAndUnprivilegedJoins() async throws {
        let h = try await ServerHarness(events: Self.moderationEvents)
        let member = try await h.connect("alice", perms: ["chat:write"])
        let outsider = try await h.connect("eve", perms: ["chat:write"])
        let herald = try await h.connect("herald", perms: ["room:lobby:announce"])
        try await member.send(#"{"event":"room.join","target":"lobby"}"#)
        #expect(await member.nextJSON()?["event"] == .string("joined"))
        try await outsider.send(#"{"event":"chat.send","target":"lobby","payload":"sneaky"}"#)
        let refused = try #require(await outsider.nextJSON())
        #expect(refused.errorCode == "forbidden")
        #expect(refused["payload"]?["message"] == .string("join lobby before sending to it"))
        try await herald.send(#"{"event":"announce","target":"lobby","payload":"hear ye"}"#)
        #expect(await member.nextJSON()?["payload"] == .string("hear ye"), "a permission lets a non-member send")
        try await outsider.send(#"{"event":"announce","target":"lobby","payload":"x"}"#)
        #expect(await outsider.nextJSON()?.errorCode == "forbidden")
        try await outsider.send(#"{"event":"vip.join"}"#)
        #expect(await outsider.nextJSON()?.errorCode == "forbidden")
        await h.stop()
    }

    @Test func originsOutsideTheAllowListGet403() async throws {
        let h = try await ServerHarness(serverExtra: ", allowed_origins: [\"https://app.example\"]")
        let token = try await ServerHarness.token()
        #expect(await h.refusal(token: token, headers: [("Origin", "https://evil.example")])?.status == 403)
        #expect(await h.refusal(token: token, headers: [("Origin", "https://app.example")]) == nil)
        #expect(await h.refusal(token: token) == nil, "non-browser clients send no Origin")
        await h.stop()
    }

    @Test func aFloodGetsRateLimitedThenClosed1008() async throws {
        // 5 per hour: no token comes back while the test runs, however slow the machine is.
        let h = try await ServerHarness(config: "connections: { rate_limit: { messages: 5, per: 1h, burst: 5 } }")
        let client = try await h.connect("alice")
        for index in 0..<40 { try? await client.send(#"{"event":"echo","payload":\#(index)}"#) }
        var echoes = 0
        var limited = 0
        var closeCode: UInt16?
        while let event = await client.next(timeout: .seconds(30)) {
            if case .close(let code, _) = event { closeCode = code; break }
            guard case .text(let text) = event, let frame = try? JSONReader.parse(Array(text.utf8)) else { continue }
            if frame.errorCode == "rate_limited" { limited += 1 } else { echoes += 1 }
        }
        #expect(echoes == 5)
        #expect(limited == 19, "refused until the 20th refusal in a row")
        #expect(closeCode == 1008)
        await h.stop()
    }

    @Test func capsOnTotalConnectionsAndRoomsPerConnection() async throws {
        let h = try await ServerHarness(config: "connections: { max_total: 2, max_rooms_per_connection: 2 }")
        let first = try await h.connect("a")
        _ = try await h.connect("b")
        #expect(await h.refusal(token: try await ServerHarness.token(sub: "c"))?.status == 503)
        for room in ["r1", "r2"] {
            try await first.send(#"{"event":"room.join","target":"\#(room)"}"#)
            #expect(await first.nextJSON()?["event"] == .string("joined"))
        }
        try await first.send(#"{"event":"room.join","target":"r3"}"#)
        #expect(await first.nextJSON()?.errorCode == "forbidden")
        await h.stop()
    }

    @Test func overlongIdentifiersAreRefused() async throws {
        let h = try await ServerHarness()
        let long = String(repeating: "u", count: 300)
        #expect(await h.refusal(token: try await ServerHarness.token(sub: long))?.status == 401)
        let client = try await h.connect("alice")
        try await client.send(#"{"event":"\#(String(repeating: "e", count: 200))"}"#)
        #expect(await client.nextJSON()?.errorCode == "bad_request")
        try await client.send(#"{"event":"room.join","target":"\#(String(repeating: "r", count: 300))"}"#)
        #expect(await client.nextJSON()?.errorCode == "action_failed")
        await h.stop()
    }
}
