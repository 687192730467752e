import Foundation
import GoDispatchCore
import NIOCore

/// `{"event":"auth.refresh","payload":{"token":"…"}}`: a client extends its session before its token
/// expires. The new token must verify and carry the same `sub`; its `perms` replace the user's global
/// permissions, and the connection's expiry moves to the new `exp`. A token for another user closes
/// the connection (4003); an invalid token gets an `unauthorized` error frame and changes nothing.
/// The connection's later messages wait until the verification is done, so a message sent right after
/// a refresh is judged by the refreshed permissions.
struct TokenRefreshHandler: SystemEventHandler {
    let verifier: TokenVerifier

    func handles(_ message: InboundMessage) -> Bool { message.event == "auth.refresh" }

    func handle(_ message: InboundMessage, from connection: Connection, done: @escaping @Sendable () -> Void) {
        guard let transport = connection.transport as? ChannelTransport else { return done() }
        let ref = message.idJSON.map(Array.init)
        guard let token = message.payloadString("token") else {
            transport.send(FrameEncoder.error(.badRequest, "auth.refresh needs payload.token", ref: ref))
            return done()
        }
        let verifier = self.verifier
        transport.eventLoop.makeFutureWithTask { () -> Result<RequestMetadata.Identity, TokenError> in
            do throws(TokenError) {
                return .success(try await verifier.verify(token))
            } catch {
                return .failure(error)
            }
        }.whenSuccess { result in
            defer { done() }
            switch result {
            case .failure(let error):
                transport.send(FrameEncoder.error(.unauthorized, "refresh refused: \(error.reason)", ref: ref))
            case .success(let identity) where identity.userID != connection.user.id:
                transport.closeOnLoop(code: 4003, reason: "refresh token is for another user")
            case .success(let identity):
                connection.user.permissions.set(identity.permissions)
                connection.replaceClaims(identity.claims)
                transport.scheduleExpiry(at: identity.expiresAt, leeway: verifier.leeway)
                var payload = JSONWriter()
                payload.writeASCII("{\"expires_at\":")
                payload.writeRaw(Array(identity.expiresAt.map { String(Int($0.timeIntervalSince1970)) }?.utf8 ?? "null".utf8))
                payload.writeASCII("}")
                let frame = payload.bytes.withUnsafeBytes { body in
                    Array("auth.refreshed".utf8).withUnsafeBytes { event in
                        FrameEncoder.message(event: event, target: nil, payloadJSON: body, from: nil)
                    }
                }
                transport.send(frame)
            }
        }
    }
}
