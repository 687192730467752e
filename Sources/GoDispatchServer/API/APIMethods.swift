import GoDispatchCore
import NIOCore

/// The API's methods: each reads its body, acts through the engine's ``BackendCommands`` and answers.
/// Field names follow ours (`room`, `payload`, `connection`) and Centrifugo's (`channel`, `data`,
/// `client`), so Centrifugo's clients work unmodified.
struct APIMethods: Sendable {
    /// The engine acted on.
    let engine: Engine
    /// `api:` settings (the default event).
    let settings: APISettings
    /// Results of idempotent publishes.
    let idempotency: IdempotencyCache
    /// This node's name and id, for `info`.
    let node: NodeIdentity

    /// Every method, with its aliases.
    static let names = [
        "publish", "broadcast", "notify_user", "join", "subscribe", "leave", "unsubscribe", "disconnect", "set_permissions",
        "emit", "info", "rooms", "channels", "batch", "presence", "presence_stats", "history", "history_remove",
    ]

    /// The metric label of `method`: itself when it is one of ours, else `_unknown`.
    static func label(_ method: String) -> String { names.contains(method) ? method : "_unknown" }

    /// Runs `method` with `body`; the future completes on `eventLoop`.
    func call(_ method: String, _ body: APIRequestBody, on eventLoop: any EventLoop) -> EventLoopFuture<APIReply> {
        do throws(APIError) {
            switch method {
            case "publish": return try publish(body, on: eventLoop)
            case "broadcast": return try broadcast(body, on: eventLoop)
            case "notify_user": return try notifyUser(body, on: eventLoop)
            case "join", "subscribe": return try join(body, on: eventLoop)
            case "leave", "unsubscribe": return try leave(body, on: eventLoop)
            case "disconnect": return try disconnect(body, on: eventLoop)
            case "set_permissions": return try setPermissions(body, on: eventLoop)
            case "emit": return try emit(body, on: eventLoop)
            case "info": return eventLoop.makeSucceededFuture(info())
            case "rooms", "channels": return eventLoop.makeSucceededFuture(try rooms(body))
            case "presence": return try presence(body, on: eventLoop)
            case "presence_stats": return try presenceStats(body, on: eventLoop)
            case "batch": return try batch(body, on: eventLoop)
            case "history": return try history(body, on: eventLoop)
            case "history_remove": return try removeHistory(body, on: eventLoop)
            default:
                throw APIError(
                    .methodNotFound, "unknown method `\(method)`; methods are: \(Self.names.joined(separator: ", "))")
            }
        } catch {
            return eventLoop.makeSucceededFuture(.error(error))
        }
    }

    // MARK: Sending

    /// The event a publish sends: `event`, or `api.default_event`.
    private func event(_ body: APIRequestBody) throws(APIError) -> String {
        try body.optionalString("event").map { event throws(APIError) in
            guard !event.isEmpty else { throw .badRequest("`\(body.path)event` must not be empty") }
            return event
        } ?? settings.defaultEvent
    }

    /// The payload as sent (`payload` or `data`), or nil when absent.
    private func payload(_ body: APIRequestBody) -> ArraySlice<UInt8>? { body.rawJSON("payload", "data") }

    private func checkRoom(_ room: String, field: String) throws(APIError) {
        let limit = engine.router.services.limits.maxRoomNameBytes
        guard room.utf8.count <= limit else { throw .badRequest("`\(field)` is \(room.utf8.count) bytes; room names are at most \(limit)") }
    }

    /// Publishes to one room on every node, through the idempotency cache when a key is given. Answers
    /// once the broker has carried it to the other nodes; a failure to reach them is an error (and
    /// forgets the key, so a retry sends again).
    private func publish(
        room: String, event: String, payload: ArraySlice<UInt8>?, idempotencyKey: String?, on eventLoop: any EventLoop
    ) -> EventLoopFuture<APIReply> {
        if let idempotencyKey, let shared = engine.broker.idempotency {
            return publishOnce(room: room, event: event, payload: payload, key: idempotencyKey, shared: shared, on: eventLoop)
        }
        let wait = engine.broker.isClustered ? BrokerWait() : nil
        let services = engine.router.services
        let send = { () -> [UInt8] in
            let frame = payload.map { bytes in
                bytes.withUnsafeBytes { BackendCommands.frame(event: event, target: room, payloadJSON: $0) }
            } ?? BackendCommands.frame(event: event, target: room, payloadJSON: nil)
            guard let position = services.publish(frame, toRoom: room, wait: wait).position else { return Array("{}".utf8) }
            var writer = JSONWriter()
            writer.write(.object([("offset", .number(String(position.offset))), ("epoch", .string(position.epoch))]))
            return writer.bytes
        }
        let result = idempotencyKey.map { idempotency.result(room: room, idempotencyKey: $0, publish: send).result } ?? send()
        guard let wait else { return eventLoop.makeSucceededFuture(.result(result)) }
        let promise = eventLoop.makePromise(of: APIReply.self)
        let cache = idempotency
        wait.whenSettled { failure in
            guard let failure else {
                // In a cluster a room with history numbers the frame in Redis: its position is known now.
                guard let position = wait.position else { return promise.succeed(.result(result)) }
                return promise.succeed(
                    .result(.object([("offset", .number(String(position.offset))), ("epoch", .string(position.epoch))])))
            }
            if let idempotencyKey { cache.forget(room: room, idempotencyKey: idempotencyKey) }
            promise.succeed(.error(APIError(.brokerUnavailable(failure.description))))
        }
        return promise.futureResult
    }

    /// A publish with an idempotency key kept by the cluster: claims the key (a retry anywhere gets the
    /// recorded result), publishes, records the result — or gives the key up when the publish failed.
    private func publishOnce(
        room: String, event: String, payload: ArraySlice<UInt8>?, key: String, shared: any BrokerIdempotency, on eventLoop: any EventLoop
    ) -> EventLoopFuture<APIReply> {
        let window = idempotency.window
        let promise = eventLoop.makePromise(of: APIReply.self)
        shared.claim(room: room, key: key, window: window) { [self] claimed in
            switch claimed {
            case .failure(let error):
                promise.succeed(.error(APIError(.brokerUnavailable(error.description))))
            case .success(let recorded?) where recorded.isEmpty:
                promise.succeed(
                    .error(
                        APIError(
                            .internalError, "a publish with this idempotency_key is still under way on a node; retry in a moment",
                            reason: "in_progress")))
            case .success(let recorded?):
                promise.succeed(.result(recorded))
            case .success(nil):
                publish(room: room, event: event, payload: payload, idempotencyKey: nil, on: eventLoop).whenSuccess { reply in
                    if case .result(let bytes) = reply {
                        shared.record(room: room, key: key, result: bytes, window: window)
                    } else {
                        shared.release(room: room, key: key)
                    }
                    promise.succeed(reply)
                }
            }
        }
        return promise.futureResult
    }

    private func publish(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        let room = try body.string("room", "channel")
        try checkRoom(room, field: "\(body.path)room")
        return publish(
            room: room, event: try event(body), payload: payload(body), idempotencyKey: try body.optionalString("idempotency_key"),
            on: eventLoop)
    }

    /// A future answered by a cluster-wide backend command's completion: `reply` on success, the
    /// refusal's API error otherwise.
    private func answer<Value: Sendable>(
        on eventLoop: any EventLoop, _ start: (@escaping @Sendable (Result<Value, BackendRefusal>) -> Void) -> Void,
        reply: @escaping @Sendable (Value) -> APIReply
    ) -> EventLoopFuture<APIReply> {
        let promise = eventLoop.makePromise(of: APIReply.self)
        start { result in
            switch result {
            case .success(let value): promise.succeed(reply(value))
            case .failure(let refusal): promise.succeed(.error(APIError(refusal)))
            }
        }
        return promise.futureResult
    }

    private func broadcast(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        guard let rooms = try body.optionalStringList("rooms", "channels"), !rooms.isEmpty else {
            throw .badRequest("`\(body.path)rooms` or `\(body.path)channels` is required: a non-empty list of room names")
        }
        let (event, payload) = (try event(body), payload(body))
        let key = try body.optionalString("idempotency_key")
        let limit = engine.router.services.limits.maxRoomNameBytes
        let replies = rooms.enumerated().map { index, room -> EventLoopFuture<APIReply> in
            guard !room.isEmpty, room.utf8.count <= limit else {
                return eventLoop.makeSucceededFuture(.error(.badRequest("`\(body.path)rooms[\(index)]` must be 1 to \(limit) bytes")))
            }
            return publish(room: room, event: event, payload: payload, idempotencyKey: key, on: eventLoop)
        }
        return EventLoopFuture.whenAllSucceed(replies, on: eventLoop).map { replies in
            var writer = JSONWriter()
            writer.writeASCII("{\"responses\":[")
            for (index, reply) in replies.enumerated() {
                if index > 0 { writer.writeASCII(",") }
                writer.writeRaw(reply.body)
            }
            writer.writeASCII("]}")
            return .result(writer.bytes)
        }
    }

    private func notifyUser(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        let user = try body.string("user")
        let event = try event(body)
        let frame = payload(body).map { bytes in
            bytes.withUnsafeBytes { BackendCommands.frame(event: event, target: nil, payloadJSON: $0) }
        } ?? BackendCommands.frame(event: event, target: nil, payloadJSON: nil)
        let backend = engine.backend
        return answer(on: eventLoop, { backend.notify(user: user, frame, completion: $0) }) { delivered in
            .result(.object([("delivered", .number(String(delivered)))]))
        }
    }

    // MARK: History

    /// `history`: `{"publications":[{"offset","event","data","from"?}],"offset","epoch"}` (Centrifugo's
    /// field names; `data` is the payload). `limit` absent or 0: only the position; -1: all held.
    private func history(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        let room = try body.string("room", "channel")
        let limit = try body.optionalInt("limit", in: -1...Int(Int32.max))
        let reverse = try body.optionalBool("reverse") ?? false
        var since: StreamPosition?
        if let given = try body.object("since") {
            guard let offset = try given.optionalInt("offset", in: 0...Int.max), let epoch = try given.optionalString("epoch") else {
                throw .badRequest("`\(body.path)since` must be {\"offset\": <integer>, \"epoch\": \"<text>\"}")
            }
            since = StreamPosition(offset: UInt64(offset), epoch: epoch)
        }
        let backend = engine.backend
        return answer(on: eventLoop, { backend.history(room: room, limit: limit, since: since, reverse: reverse, completion: $0) }) {
            Self.historyReply($0)
        }
    }

    /// `{"publications":[…],"offset","epoch"}`.
    private static func historyReply(_ page: BackendCommands.HistoryPage) -> APIReply {
        var writer = JSONWriter()
        writer.writeASCII("{\"publications\":[")
        for (index, publication) in page.publications.enumerated() {
            if index > 0 { writer.writeASCII(",") }
            let (event, payload, from) = publication.parts
            writer.writeASCII("{\"offset\":")
            writer.writeRaw(String(publication.offset).utf8)
            writer.writeASCII(",\"event\":")
            writer.writeString(event)
            if let payload {
                writer.writeASCII(",\"data\":")
                writer.writeRaw(payload)
            }
            if let from {
                writer.writeASCII(",\"from\":")
                writer.writeString(from)
            }
            writer.writeASCII("}")
        }
        writer.writeASCII("],\"offset\":")
        writer.writeRaw(String(page.position.offset).utf8)
        writer.writeASCII(",\"epoch\":")
        writer.writeString(page.position.epoch)
        writer.writeASCII("}")
        return .result(writer.bytes)
    }

    /// `history_remove`: forgets a room's frames (offset and epoch stay); answers `{}`.
    private func removeHistory(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        let room = try body.string("room", "channel")
        let backend = engine.backend
        return answer(on: eventLoop, { backend.removeHistory(room: room, completion: $0) }) { _ in .empty }
    }

    // MARK: Memberships, permissions, connections

    private func join(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        let (user, room) = (try body.string("user"), try body.string("room", "channel"))
        let connection = try body.optionalString("connection", "client")
        let backend = engine.backend
        return answer(on: eventLoop, { backend.join(user: user, room: room, connection: connection, completion: $0) }) { joined in
            .result(.object([("joined", .number(String(joined)))]))
        }
    }

    private func leave(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        let (user, room) = (try body.string("user"), try body.string("room", "channel"))
        let connection = try body.optionalString("connection", "client")
        let backend = engine.backend
        return answer(on: eventLoop, { backend.leave(user: user, room: room, connection: connection, completion: $0) }) { left in
            .result(.object([("left", .number(String(left)))]))
        }
    }

    private func disconnect(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        let user = try body.string("user")
        let connection = try body.optionalString("connection", "client")
        // Ours: top-level `code` / `reason`; Centrifugo's: `disconnect: {code, reason}` (code 0 = unset).
        let nested = try body.object("disconnect")
        var code = try body.optionalInt("code", in: 0...65535) ?? 0
        var reason = try body.optionalString("reason") ?? ""
        if let nested {
            if code == 0 { code = try nested.optionalInt("code", in: 0...65535) ?? 0 }
            if reason.isEmpty { reason = try nested.optionalString("reason") ?? "" }
        }
        let backend = engine.backend
        let (closeCode, closeReason) = (code == 0 ? 1000 : UInt16(code), reason.isEmpty ? "disconnected by the server" : reason)
        return answer(
            on: eventLoop,
            { backend.disconnect(user: user, connection: connection, code: closeCode, reason: closeReason, completion: $0) }
        ) { closed in
            .result(.object([("closed", .number(String(closed)))]))
        }
    }

    private func setPermissions(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        let user = try body.string("user")
        let changes: [(String, [String]?)] = [
            ("set", try body.optionalStringList("set")), ("add", try body.optionalStringList("add")),
            ("remove", try body.optionalStringList("remove")),
        ]
        let given = changes.filter { $0.1 != nil }
        guard given.count == 1, let (kind, list) = given.first.map({ ($0.0, $0.1!) }) else {
            throw .badRequest("give exactly one of `set`, `add` or `remove`, each a list of permissions")
        }
        let update: BackendCommands.PermissionUpdate = kind == "set" ? .set(list) : kind == "add" ? .add(list) : .remove(list)
        let backend = engine.backend
        return answer(on: eventLoop, { backend.setPermissions(user: user, update, completion: $0) }) { _ in .empty }
    }

    // MARK: Looking inside

    /// Every node of the cluster (this one alone with the memory broker).
    private func info() -> APIReply {
        .result(.object([("nodes", .array(engine.broker.clusterNodes ?? nodes))]))
    }

    /// The nodes `info` lists (Centrifugo's field names, with `num_rooms` beside `num_channels`).
    var nodes: [JSONValue] {
        let state = engine.state
        let uptime = Int((ContinuousClock.now - node.started).components.seconds)
        return [
            .object([
                ("name", .string(node.name)), ("uid", .string(node.uid)), ("version", .string(GoDispatchVersion.current)),
                ("uptime", .number(String(uptime))), ("num_clients", .number(String(state.connectionCount))),
                ("num_users", .number(String(state.userCount))), ("num_rooms", .number(String(state.roomCount))),
                ("num_channels", .number(String(state.roomCount))),
            ])
        ]
    }

    /// `{"presence":{"<connection id>":{"client":"<connection id>","user":"<user id>","chan_info":…}}}`
    /// (Centrifugo's shape; `chan_info` is the connection's `presence_info`, absent when it has none).
    private func presence(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        let room = try body.string("room", "channel")
        try checkRoom(room, field: "\(body.path)room")
        let backend = engine.backend
        return answer(on: eventLoop, { backend.presence(room: room, completion: $0) }) { members in
            let entries = members.map { member in
                var fields: [(String, JSONValue)] = [("client", .string(member.connection)), ("user", .string(member.user))]
                if let info = member.info.flatMap(JSONValue.init(json:)) { fields.append(("chan_info", info)) }
                return (member.connection, JSONValue.object(fields))
            }
            return .result(.object([("presence", .object(entries))]))
        }
    }

    /// `{"num_clients":n,"num_users":n}` (Centrifugo's field names).
    private func presenceStats(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        let room = try body.string("room", "channel")
        try checkRoom(room, field: "\(body.path)room")
        let backend = engine.backend
        return answer(on: eventLoop, { backend.presenceStats(room: room, completion: $0) }) { stats in
            .result(.object([("num_clients", .number(String(stats.connections))), ("num_users", .number(String(stats.users)))]))
        }
    }

    private func rooms(_ body: APIRequestBody) throws(APIError) -> APIReply {
        let rooms = engine.backend.rooms(matching: try body.optionalString("pattern"))
        let list = JSONValue.array(rooms.map { .object([("room", .string($0.name)), ("members", .number(String($0.members)))]) })
        let channels = JSONValue.object(rooms.map { ($0.name, .object([("num_clients", .number(String($0.members)))])) })
        return .result(.object([("rooms", list), ("channels", channels)]))
    }

    // MARK: Batch

    /// Most commands in one `batch`.
    static let maxBatchCommands = 1000

    private func batch(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        guard let commands = try body.objectList("commands") else {
            throw .badRequest("`commands` is required: a list like [{\"publish\": {\"room\": \"lobby\", \"payload\": {}}}]")
        }
        guard commands.count <= Self.maxBatchCommands else {
            throw APIError(.limitExceeded, "a batch holds at most \(Self.maxBatchCommands) commands, found \(commands.count)")
        }
        var replies: [EventLoopFuture<(String?, APIReply)>] = []
        var previous = eventLoop.makeSucceededVoidFuture()
        for command in commands {
            // Commands run in order: each starts when the one before has answered.
            let members = command.namedMembers
            let next = previous.flatMap { () -> EventLoopFuture<(String?, APIReply)> in
                guard members.count == 1, let (method, range) = members.first, command.isObject(range) else {
                    return eventLoop.makeSucceededFuture(
                        (nil, .error(.badRequest("`\(command.path.dropLast())` must be one method and its body, e.g. {\"publish\": {…}}"))))
                }
                guard method != "batch" else {
                    return eventLoop.makeSucceededFuture((nil, .error(.badRequest("a batch cannot contain a batch"))))
                }
                return call(method, command.nested(method, range: range), on: eventLoop).map { (method, $0) }
            }
            replies.append(next)
            previous = next.map { _ in () }
        }
        return EventLoopFuture.whenAllSucceed(replies, on: eventLoop).map { replies in
            var writer = JSONWriter()
            writer.writeASCII("[")
            for (index, (method, reply)) in replies.enumerated() {
                if index > 0 { writer.writeASCII(",") }
                switch reply {
                case .result(let bytes), .replies(let bytes):
                    writer.writeASCII("{")
                    writer.writeString(method ?? "")
                    writer.writeASCII(":")
                    writer.writeRaw(bytes)
                    writer.writeASCII("}")
                case .error(let error):
                    writer.writeASCII("{\"error\":")
                    error.write(to: &writer)
                    writer.writeASCII("}")
                }
            }
            writer.writeASCII("]")
            return .replies(writer.bytes)
        }
    }
}

/// Who this node is, for `info`.
struct NodeIdentity: Sendable {
    /// The host name (or `GODISPATCH_NODE_NAME`).
    let name: String
    /// Random per process.
    let uid: String
    /// When the process started serving.
    let started: ContinuousClock.Instant
}
