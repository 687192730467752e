import Foundation
import GoDispatchClient
import GoDispatchCore
import Synchronization

/// Everything one client received, in order, awaited by the test with conditions and timeouts (events, not
/// sleeps).
final class Inbox: Sendable {
    fileprivate struct Waiter {
        let condition: @Sendable (State) -> Bool
        let continuation: CheckedContinuation<Bool, Never>
    }

    fileprivate struct State {
        var events: [ClientEvent] = []
        /// Each event's JSON (text frames), parsed once as it arrives.
        var frames: [JSONValue?] = []
        /// How many events `next(where:)` has consumed.
        var cursor = 0
        var waiters: [Int: Waiter] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Adds an event and wakes the waiters whose condition now holds.
    func record(_ event: ClientEvent) {
        let woken = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.events.append(event)
            state.frames.append(event.json)
            let ready = state.waiters.filter { $0.value.condition(state) }
            for id in ready.keys { state.waiters[id] = nil }
            return ready.map(\.value.continuation)
        }
        woken.forEach { $0.resume(returning: true) }
    }

    /// Every event so far.
    var events: [ClientEvent] { state.withLock { $0.events } }

    /// The text frames so far, as JSON.
    var frames: [JSONValue] { state.withLock { $0.frames.compactMap { $0 } } }

    /// How many frames so far match `predicate`.
    func count(where predicate: (JSONValue) -> Bool) -> Int {
        state.withLock { $0.frames.reduce(0) { $0 + ($1.map(predicate) == true ? 1 : 0) } }
    }

    /// Waits until `condition` holds for the state; false after `timeout`.
    fileprivate func wait(timeout: Duration, until condition: @escaping @Sendable (State) -> Bool) async -> Bool {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        // The timer starts once the waiter is registered, so it cannot fire before there is one to expire.
        let timer = Mutex<Task<Void, Never>?>(nil)
        let met = await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if condition(state) { return true }
                state.waiters[id] = Waiter(condition: condition, continuation: continuation)
                return false
            }
            if now {
                continuation.resume(returning: true)
                return
            }
            timer.withLock {
                $0 = Task {
                    try? await Task.sleep(for: timeout)
                    let expired = self.state.withLock { $0.waiters.removeValue(forKey: id) }
                    expired?.continuation.resume(returning: false)
                }
            }
        }
        timer.withLock { $0?.cancel() }
        return met
    }

    /// Waits until `condition` holds for all events received; false after `timeout`.
    func waitUntil(timeout: Duration = .seconds(20), _ condition: @escaping @Sendable ([ClientEvent]) -> Bool) async
        -> Bool
    {
        await wait(timeout: timeout) { condition($0.events) }
    }

    /// Waits until `count` frames match `predicate`; false after `timeout`.
    func waitUntil(
        count: Int, timeout: Duration = .seconds(20), where predicate: @escaping @Sendable (JSONValue) -> Bool
    ) async -> Bool {
        await wait(timeout: timeout) { state in
            state.frames.reduce(0) { $0 + ($1.map(predicate) == true ? 1 : 0) } >= count
        }
    }

    /// The first text frame after those already taken that matches `predicate` (consumes up to it); nil
    /// after `timeout`.
    func next(timeout: Duration = .seconds(20), where predicate: @escaping @Sendable (JSONValue) -> Bool) async
        -> JSONValue?
    {
        let found = await wait(timeout: timeout) { state in
            state.frames[state.cursor...].contains { $0.map(predicate) ?? false }
        }
        guard found else { return nil }
        return state.withLock { state -> JSONValue? in
            guard let index = state.frames[state.cursor...].firstIndex(where: { $0.map(predicate) ?? false }) else {
                return nil
            }
            state.cursor = index + 1
            return state.frames[index]
        }
    }
}

extension ClientEvent {
    /// A text frame's JSON.
    var json: JSONValue? {
        guard case .text(let text) = self else { return nil }
        return JSONValue(json: Array(text.utf8))
    }
}

extension JSONValue {
    /// A string member's text.
    func string(_ key: String) -> String? {
        guard case .string(let text)? = self[key] else { return nil }
        return text
    }

    /// A number member's integer value.
    func int(_ key: String) -> Int? {
        guard case .number(let text)? = self[key] else { return nil }
        return Int(text)
    }

    /// `payload.code` of an error frame.
    var errorCode: String? {
        guard string("event") == "error" else { return nil }
        return self["payload"]?.string("code")
    }
}

/// A real WebSocket client connected to one node, its frames collected in an ``Inbox``.
final class ClusterClient: Sendable {
    let user: String
    /// The node's name (n1, n2, n3).
    let node: String
    let socket: WebSocketClient
    let inbox = Inbox()

    init(user: String, node: String, socket: WebSocketClient) {
        self.user = user
        self.node = node
        self.socket = socket
        let inbox = inbox
        let stream = socket.events
        Task {
            for await event in stream { inbox.record(event) }
            inbox.record(.disconnected)
        }
    }

    /// Sends an envelope: `{"event":…,"target":…,"payload":…,"id":…}` (payload is JSON text).
    func send(_ event: String, target: String? = nil, payload: String? = nil, id: String? = nil) async throws {
        try await socket.send(text: Self.envelope(event, target: target, payload: payload, id: id))
    }

    /// The text of an envelope.
    static func envelope(_ event: String, target: String? = nil, payload: String? = nil, id: String? = nil) -> String {
        var members = ["\"event\":\(JSONValue.string(event).jsonText)"]
        if let target { members.append("\"target\":\(JSONValue.string(target).jsonText)") }
        if let payload { members.append("\"payload\":\(payload)") }
        if let id { members.append("\"id\":\(JSONValue.string(id).jsonText)") }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// The next frame of `event` (after those taken), or nil after `timeout`.
    func next(_ event: String, timeout: Duration = .seconds(20)) async -> JSONValue? {
        await inbox.next(timeout: timeout) { $0.string("event") == event }
    }

    /// The reply to the message with `id`: a frame carrying `ref` = id, or an error frame whose `payload.ref`
    /// is id; nil after `timeout`.
    func reply(to id: String, timeout: Duration = .seconds(20)) async -> JSONValue? {
        await inbox.next(timeout: timeout) { $0.string("ref") == id || $0["payload"]?.string("ref") == id }
    }

    /// Sends a message with a fresh id and returns its reply (nil after `timeout`).
    func request(_ event: String, target: String? = nil, payload: String? = nil, timeout: Duration = .seconds(20))
        async throws
        -> JSONValue?
    {
        let id = UUID().uuidString
        try await send(event, target: target, payload: payload, id: id)
        return await reply(to: id, timeout: timeout)
    }

    /// Joins `room` and waits for the pipeline's reply (the join is done on the node when it arrives).
    func join(_ room: String) async throws -> Bool {
        let reply = try await request("join", target: room)
        return reply?.string("event") == "joined"
    }

    /// The server's close code once the connection has ended (nil: ended without a close frame, or still open
    /// after `timeout`).
    func closeCode(timeout: Duration = .seconds(20)) async -> UInt16?? {
        let ended = await inbox.waitUntil(timeout: timeout) { events in
            events.contains { if case .close = $0 { true } else { $0 == .disconnected } }
        }
        guard ended else { return .none }
        for event in inbox.events {
            if case .close(let code, _) = event { return .some(code) }
        }
        return .some(nil)
    }

    /// A `closeCode` result in words.
    static func describe(_ code: UInt16??, waited: Duration = .seconds(20)) -> String {
        switch code {
        case .none: "still open after \(waited)"
        case .some(.none): "ended without a close frame"
        case .some(.some(let code)): "closed with \(code)"
        }
    }

    /// Whether the connection has ended (a close frame or the socket's end has arrived).
    var hasEnded: Bool {
        inbox.events.contains { if case .close = $0 { true } else { $0 == .disconnected } }
    }

    /// Starts the close handshake and waits for the server's answer (or the socket's end).
    func close() async {
        try? await socket.close()
        _ = await inbox.waitUntil(timeout: .seconds(10)) { $0.contains(.disconnected) }
        await socket.disconnect()
    }
}
