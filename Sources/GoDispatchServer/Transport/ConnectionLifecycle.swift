import Foundation
import NIOCore

/// The close handshake and keepalive of one WebSocket connection, as a value: every transition
/// returns what the transport must do, so the rules (RFC 6455 §5.5.1, §7) are tested without a channel.
///
/// ```
///  open ──close(code)──────────▶ closing ──peer's close / close timer──▶ (socket closed)
///   │  └─fail(code)─────────────▶ closing  (close frame, then the socket at once)
///   └──peer's close─────────────▶ closing  (echo, then the socket at once)
///  any ──socket closed──────────▶ closed
/// ```
/// Keepalive: a sweep of an open connection closes it when its token expired (4003) or it was silent
/// for `idle_timeout` (1001), and pings it when it was quiet for `ping_interval`.
struct ConnectionLifecycle {
    /// Where the connection is.
    enum State: Equatable {
        /// Frames flow both ways.
        case open
        /// A close frame is out (ours or our echo); nothing more is sent.
        case closing
        /// The socket is closed.
        case closed
    }

    /// What the transport must do after a transition.
    enum Action: Equatable {
        /// Nothing.
        case none
        /// Write a close frame after what is queued, then wait for the peer's (arm the close timer).
        case sendCloseAndWait(code: UInt16, reason: String)
        /// Write a close frame (without a code when nil) after what is queued, then close the socket.
        case sendCloseThenCloseSocket(code: UInt16?, reason: String)
        /// Close the socket now (the handshake is over, or the peer took too long).
        case closeSocket
        /// Send a ping.
        case ping
    }

    /// The current state.
    private(set) var state: State = .open
    /// The first close code and reason, ours or the peer's (nil while nobody closed).
    private(set) var closeStatus: (code: UInt16, reason: String)?
    /// The last time the client sent anything (a message, a ping, a pong).
    private(set) var lastActivity: NIODeadline
    /// The last keepalive ping.
    private(set) var lastPing = NIODeadline.uptimeNanoseconds(0)
    /// When the token expires (plus leeway), by the wall clock tokens are judged by; nil = never.
    var expiresAt: Date?

    /// A new, open connection, active `now`.
    init(now: NIODeadline) { lastActivity = now }

    /// True while frames may be sent and messages routed.
    var isOpen: Bool { state == .open }

    /// The client sent something.
    mutating func noteActivity(at now: NIODeadline) { lastActivity = now }

    /// We close (normal handshake): send our close frame and wait for the peer's.
    mutating func close(code: UInt16, reason: String) -> Action {
        guard state == .open else { return .none }
        state = .closing
        record(code, reason)
        return .sendCloseAndWait(code: code, reason: reason)
    }

    /// The client broke the protocol: fail the connection (close frame, then the socket, no waiting).
    mutating func fail(code: UInt16, reason: String) -> Action {
        record(code, reason)
        switch state {
        case .open:
            state = .closing
            return .sendCloseThenCloseSocket(code: code, reason: reason)
        case .closing: return .closeSocket
        case .closed: return .none
        }
    }

    /// The peer sent its close frame (`code` nil when it had none).
    mutating func peerClosed(code: UInt16?, reason: String) -> Action {
        record(code ?? 1005, reason)
        switch state {
        case .open:
            state = .closing
            return .sendCloseThenCloseSocket(code: code, reason: "")
        case .closing: return .closeSocket
        case .closed: return .none
        }
    }

    /// The peer did not answer our close frame in time.
    mutating func closeTimerFired() -> Action { state == .closing ? .closeSocket : .none }

    /// The socket closed (for any reason).
    mutating func socketClosed() { state = .closed }

    /// One sweep of the loop's ``ConnectionSweeper``: `now` for activity, `wallClock` for token expiry.
    mutating func sweep(now: NIODeadline, wallClock: Date, pingInterval: TimeAmount, idleTimeout: TimeAmount) -> Action {
        guard state == .open else { return .none }
        if let expiresAt, wallClock >= expiresAt { return close(code: 4003, reason: "token expired") }
        if now - lastActivity >= idleTimeout { return close(code: 1001, reason: "idle timeout") }
        if now - lastActivity >= pingInterval, now - lastPing >= pingInterval {
            lastPing = now
            return .ping
        }
        return .none
    }

    private mutating func record(_ code: UInt16, _ reason: String) {
        if closeStatus == nil { closeStatus = (code, reason) }
    }
}
