import GoDispatchClient
import NIOCore
import NIOPosix
import Synchronization

/// Why a request to the server did not complete.
enum RequestError: Error, CustomStringConvertible {
    /// No ack within the time allowed.
    case timedOut(String)
    /// The connection closed before the ack.
    case connectionClosed
    /// The server answered with an error frame.
    case refused(String)

    /// The reason in words.
    var description: String {
        switch self {
        case .timedOut(let what): "no ack for \(what) in time"
        case .connectionClosed: "the connection closed before the ack"
        case .refused(let code): "the server refused it: \(code)"
        }
    }
}

/// One WebSocket connection of the soak: a ``WebSocketClient``, a task that reads every frame it gets
/// (a connection that stops reading would be closed by the server as too slow), acks matched to the
/// requests waiting for them, and the publishes still waiting for their ack.
final class SoakConnection: Sendable {
    /// The connection's user id (the token's `sub`).
    let user: String
    /// Where received room messages are recorded; nil for a churner.
    let member: StableMember?
    /// The socket.
    private let client: WebSocketClient
    /// Where publishes and acks are recorded.
    private let ledger: DeliveryLedger
    /// Where events are counted.
    private let counters: SoakCounters
    /// The loop that runs this connection's ack timers.
    private let timerLoop: any EventLoop
    /// What changes while the connection lives, behind a lock (the reader and the workload share it).
    private let state = Mutex(State())
    /// Succeeds when the socket has closed and every frame before that was handled.
    private let finished: EventLoopPromise<Void>

    /// What changes while the connection lives.
    private struct State {
        /// Requests waiting for their ack, by message id.
        var waiters: [Int: EventLoopPromise<Void>] = [:]
        /// Publishes sent and not yet acked.
        var outstanding: Set<Int> = []
        /// The socket has closed.
        var closed = false
        /// The driver is closing this connection (a close frame or EOF from now on is expected).
        var closing = false
    }

    /// A connected client; ``open(port:user:token:member:ledger:counters:timeout:)`` makes them.
    private init(
        user: String, member: StableMember?, client: WebSocketClient, ledger: DeliveryLedger, counters: SoakCounters,
        loop: any EventLoop
    ) {
        self.user = user
        self.member = member
        self.client = client
        self.ledger = ledger
        self.counters = counters
        self.timerLoop = loop
        self.finished = loop.makePromise(of: Void.self)
    }

    /// Connects as `user` with `token` and starts reading; fails after `timeout` (a late connection is
    /// then closed as soon as it is made, so none leaks).
    static func open(
        port: Int, user: String, token: String, member: StableMember?, ledger: DeliveryLedger, counters: SoakCounters,
        timeout: Duration
    ) async throws -> SoakConnection {
        let client = try await withDeadline(timeout, what: "connect") {
            try await WebSocketClient.connect(
                host: "127.0.0.1", port: port, path: "/ws", headers: [("Authorization", "Bearer \(token)")])
        } abandon: { late in
            await late.disconnect()
        }
        let connection = SoakConnection(
            user: user, member: member, client: client, ledger: ledger, counters: counters,
            loop: MultiThreadedEventLoopGroup.singleton.any())
        counters.bump(\.opened)
        Task { await connection.read() }
        return connection
    }

    /// Handles every event until the socket closes.
    private func read() async {
        for await event in client.events {
            switch event {
            case .text(let text): handle(ServerFrame(text))
            case .binary: counters.bump(\.unexpectedFrames)
            case .close(let code, let reason):
                if !state.withLock({ $0.closing }) {
                    counters.bump(\.unexpectedCloses)
                    counters.note(
                        "\(user): the server closed the connection (\(code.map(String.init) ?? "no code") \(reason))")
                    state.withLock { $0.closing = true }  // counted once: the EOF that follows is expected now
                }
            case .disconnected: break
            }
        }
        let (waiters, outstanding, expected) = state.withLock { state in
            state.closed = true
            defer {
                state.waiters = [:]
                state.outstanding = []
            }
            return (state.waiters, state.outstanding, state.closing)
        }
        if !expected {
            counters.bump(\.unexpectedCloses)
            counters.note("\(user): the socket closed without a close frame")
        }
        ledger.abandon(outstanding)
        for promise in waiters.values { promise.fail(RequestError.connectionClosed) }
        finished.succeed()
    }

    /// Counts one frame and settles the request it answers, if any.
    private func handle(_ frame: ServerFrame) {
        switch frame {
        case .message(let id):
            if let member {
                counters.bump(\.deliveredToStable)
                member.receive(id, ledger: ledger)
            } else {
                counters.bump(\.deliveredToChurners)
            }
        case .published(let ref):
            _ = state.withLock { $0.outstanding.remove(ref) }
            if !ledger.acked(id: ref) { counters.note("\(user): an ack for publish \(ref), which was not under way") }
            complete(ref, .success(()))
        case .joined(let ref):
            counters.bump(\.joins)
            complete(ref, .success(()))
        case .left(let ref):
            counters.bump(\.leaves)
            complete(ref, .success(()))
        case .error(let code, let ref):
            counters.bump(\.serverErrors)
            counters.note("\(user): error frame \(code) for message \(ref.map(String.init) ?? "-")")
            if let ref { complete(ref, .failure(RequestError.refused(code))) }
        case .other(let text):
            counters.bump(\.unexpectedFrames)
            counters.note("\(user): unexpected frame \(text.prefix(200))")
        }
    }

    /// Settles the request waiting for `id` (once: the ack, the timeout and the close race for it).
    private func complete(_ id: Int, _ result: Result<Void, any Error>) {
        guard let promise = state.withLock({ $0.waiters.removeValue(forKey: id) }) else { return }
        promise.completeWith(result)
    }

    /// Sends `json` (whose `id` is `id`) and waits for its ack; publishes are recorded in the ledger.
    func request(_ json: String, id: Int, what: String, timeout: Duration) async throws {
        let promise = timerLoop.makePromise(of: Void.self)
        guard
            state.withLock({ state in
                guard !state.closed else { return false }
                state.waiters[id] = promise
                return true
            })
        else {
            promise.fail(RequestError.connectionClosed)
            throw RequestError.connectionClosed
        }
        let timer = timerLoop.scheduleTask(in: .nanoseconds(Int64(timeout.seconds * 1e9))) {
            self.complete(id, .failure(RequestError.timedOut(what)))
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        do {
            try await client.send(text: json)
        } catch {
            complete(id, .failure(error))
        }
        try await promise.futureResult.get()
    }

    /// Joins `room` and waits for the ack.
    func join(_ room: Int, ledger: DeliveryLedger, timeout: Duration) async throws {
        let id = ledger.makeID()
        try await request(
            #"{"event":"room.join","target":"\#(SoakPlan.roomName(room))","id":\#(id)}"#, id: id,
            what: "joining \(SoakPlan.roomName(room))", timeout: timeout)
    }

    /// Leaves `room` and waits for the ack.
    func leave(_ room: Int, ledger: DeliveryLedger, timeout: Duration) async throws {
        let id = ledger.makeID()
        try await request(
            #"{"event":"room.leave","target":"\#(SoakPlan.roomName(room))","id":\#(id)}"#, id: id,
            what: "leaving \(SoakPlan.roomName(room))", timeout: timeout)
    }

    /// Publishes a message to `room`; with `awaitAck`, waits for the ack too. `sentinel` fixes the room's
    /// cut first (see ``DeliveryLedger``).
    func publish(to room: Int, awaitAck: Bool, timeout: Duration, sentinel: Bool = false) async throws {
        let id = ledger.makeID()
        guard
            state.withLock({ state in
                guard !state.closed else { return false }
                state.outstanding.insert(id)
                return true
            })
        else { throw RequestError.connectionClosed }
        if sentinel { ledger.willPublishSentinel(id: id, room: room) } else { ledger.willPublish(id: id, room: room) }
        let json =
            #"{"event":"publish","target":"\#(SoakPlan.roomName(room))","id":\#(id),"#
            + #""payload":{"text":"soak message \#(id) from \#(user)"}}"#
        if awaitAck {
            try await request(json, id: id, what: "publish \(id)", timeout: timeout)
        } else {
            try await client.send(text: json)
        }
    }

    /// Closes with a close frame and waits for the server's answer and the socket's end; drops the
    /// socket if that takes longer than `timeout`.
    func closeCleanly(timeout: Duration) async {
        state.withLock { $0.closing = true }
        do {
            try await client.close(code: 1000)
            try await withDeadline(timeout, what: "close handshake") { try await self.finished.futureResult.get() }
            counters.bump(\.closedCleanly)
        } catch {
            counters.bump(\.closeHandshakeTimeouts)
            counters.note("\(user): close handshake: \(error)")
            await client.disconnect()
        }
    }

    /// Closes the socket without a close frame (a client that vanishes).
    func drop() async {
        state.withLock { $0.closing = true }
        await client.disconnect()
        counters.bump(\.dropped)
    }

    /// Waits until the socket has closed and every frame before that was handled.
    func waitClosed() async { try? await finished.futureResult.get() }

    /// Whether the socket has closed.
    var isClosed: Bool { state.withLock { $0.closed } }
}
