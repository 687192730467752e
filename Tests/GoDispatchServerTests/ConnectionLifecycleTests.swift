import Foundation
import NIOCore
import Testing

@testable import GoDispatchServer

@Suite("Connection close and keepalive state machine")
struct ConnectionLifecycleMachineTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test func ourCloseWaitsForThePeerThenClosesTheSocket() {
        var life = ConnectionLifecycle(now: start)
        #expect(life.close(code: 1001, reason: "bye") == .sendCloseAndWait(code: 1001, reason: "bye"))
        #expect(!life.isOpen)
        #expect(life.close(code: 1000, reason: "again") == .none, "one close frame only")
        #expect(life.peerClosed(code: 1001, reason: "") == .closeSocket, "the peer's answer ends the handshake")
        #expect(life.closeStatus?.code == 1001 && life.closeStatus?.reason == "bye", "the first status stays")
        life.socketClosed()
        #expect(life.closeTimerFired() == .none)
    }

    @Test func aPeerThatNeverAnswersIsClosedByTheTimer() {
        var life = ConnectionLifecycle(now: start)
        _ = life.close(code: 1000, reason: "")
        #expect(life.closeTimerFired() == .closeSocket)
    }

    @Test func thePeersCloseIsEchoedThenTheSocketCloses() {
        var life = ConnectionLifecycle(now: start)
        #expect(life.peerClosed(code: 4000, reason: "done") == .sendCloseThenCloseSocket(code: 4000, reason: ""))
        #expect(life.closeStatus?.code == 4000)
        var empty = ConnectionLifecycle(now: start)
        #expect(empty.peerClosed(code: nil, reason: "") == .sendCloseThenCloseSocket(code: nil, reason: ""))
        #expect(empty.closeStatus?.code == 1005, "a close without a code reads as 1005")
    }

    @Test func aProtocolViolationFailsAtOnceEvenMidHandshake() {
        var life = ConnectionLifecycle(now: start)
        #expect(life.fail(code: 1002, reason: "bad") == .sendCloseThenCloseSocket(code: 1002, reason: "bad"))
        var closing = ConnectionLifecycle(now: start)
        _ = closing.close(code: 1000, reason: "")
        #expect(closing.fail(code: 1002, reason: "bad") == .closeSocket)
        #expect(closing.closeStatus?.code == 1000)
        var closed = ConnectionLifecycle(now: start)
        closed.socketClosed()
        #expect(closed.fail(code: 1002, reason: "") == .none && closed.peerClosed(code: 1000, reason: "") == .none)
    }

    @Test func sweepsPingIdleAndExpireInThatOrderOfUrgency() {
        let ping = TimeAmount.seconds(30), idle = TimeAmount.seconds(90)
        var life = ConnectionLifecycle(now: start)
        #expect(life.sweep(now: start + .seconds(10), wallClock: Date(timeIntervalSince1970: 0), pingInterval: ping, idleTimeout: idle) == .none)
        #expect(life.sweep(now: start + .seconds(31), wallClock: Date(timeIntervalSince1970: 0), pingInterval: ping, idleTimeout: idle) == .ping)
        #expect(life.sweep(now: start + .seconds(40), wallClock: Date(timeIntervalSince1970: 0), pingInterval: ping, idleTimeout: idle) == .none, "one ping per interval")
        life.noteActivity(at: start + .seconds(50))
        #expect(life.sweep(now: start + .seconds(100), wallClock: Date(timeIntervalSince1970: 0), pingInterval: ping, idleTimeout: idle) == .ping)
        #expect(
            life.sweep(now: start + .seconds(141), wallClock: Date(timeIntervalSince1970: 0), pingInterval: ping, idleTimeout: idle)
                == .sendCloseAndWait(code: 1001, reason: "idle timeout"))
        var expiring = ConnectionLifecycle(now: start)
        expiring.expiresAt = Date(timeIntervalSince1970: 5)
        #expect(
            expiring.sweep(now: start + .seconds(5), wallClock: Date(timeIntervalSince1970: 6), pingInterval: ping, idleTimeout: idle)
                == .sendCloseAndWait(code: 4003, reason: "token expired"))
        #expect(expiring.sweep(now: start + .seconds(6), wallClock: Date(timeIntervalSince1970: 6), pingInterval: ping, idleTimeout: idle) == .none, "closing: nothing more")
    }
}
