import Testing

@testable import GoDispatchCore

/// What actions mean, tested in Swift without the C marshalling.
@Suite("Action semantics (ActionContext)")
struct ActionContextTests {
    struct World {
        let state = InMemoryStateManager()
        let alice: Connection
        let aliceClient = TestTransport()
        let bob: Connection
        let bobClient = TestTransport()
        let context: ActionContext

        init(maxRooms: Int = 100) {
            alice = state.connect(userID: "alice", permissions: ["a"], transport: aliceClient)
            bob = state.connect(userID: "bob", permissions: [], transport: bobClient)
            context = ActionContext(
                origin: alice,
                services: EngineServices(state: state, logger: quietLogger, limits: EngineLimits(maxRoomsPerConnection: maxRooms)))
        }
    }

    /// Runs `body` with a message whose parts are borrowed from these strings.
    func withMessage<R>(
        event: String = "e", target: String = "", json: String?, excludeOrigin: Bool = false, _ body: (OutgoingMessage) throws -> R
    ) rethrows -> R {
        try Array(event.utf8).withUnsafeBytes { event in
            try Array(target.utf8).withUnsafeBytes { target in
                try Array((json ?? "").utf8).withUnsafeBytes { payload in
                    try body(
                        OutgoingMessage(
                            event: event, target: target, payload: json == nil ? .none : .json(payload), excludeOrigin: excludeOrigin))
                }
            }
        }
    }

    @Test func aPayloadMustBeExactlyOneJSONValue() throws {
        let world = World()
        for bad in ["", "{", "1 2", "[1,]", "{\"a\":1}}", "nul"] {
            #expect(throws: ActionRefusal.self, "\(bad)") { try withMessage(json: bad) { try world.context.sendToOrigin($0) } }
        }
        #expect(try withMessage(json: " {\"a\":[1]} ") { try world.context.sendToOrigin($0) } == 1)
        #expect(world.aliceClient.frames.pending == [#"{"event":"e","payload":{"a":[1]},"from":"alice"}"#])
        #expect(throws: ActionRefusal.self, "an empty event") { try withMessage(event: "", json: nil) { try world.context.sendToOrigin($0) } }
    }

    @Test func closedConnectionsReceiveNothingAndAreNotCounted() throws {
        let world = World()
        world.state.join(world.alice, room: "r")
        world.state.join(world.bob, room: "r")
        world.state.disconnect(world.bob)
        #expect(throws: ActionRefusal.self, "a room name is required") {
            try withMessage(json: "1") { try world.context.sendToRoom(UnsafeRawBufferPointer(start: nil, count: 0), $0) }
        }
        let delivered = try Array("r".utf8).withUnsafeBytes { room in try withMessage(json: "1") { try world.context.sendToRoom(room, $0) } }
        #expect(delivered == 1)
        #expect(throws: ActionRefusal.notFound) { try withMessage(json: "1") { try world.context.sendToConnection(id: world.bob.id, $0) } }
        #expect(try withMessage(json: "1") { try world.context.sendToUser(id: "bob", $0) } == 0)
        world.state.disconnect(world.alice)
        #expect(try withMessage(json: "1") { try world.context.sendToOrigin($0) } == 0)
        #expect(throws: ActionRefusal.notFound) { try world.context.join("again") }
    }

    @Test func roomsExcludeTheOriginWhenAsked() throws {
        let world = World()
        world.state.join(world.alice, room: "r")
        world.state.join(world.bob, room: "r")
        let delivered = try Array("r".utf8).withUnsafeBytes { room in
            try withMessage(json: "1", excludeOrigin: true) { try world.context.sendToRoom(room, $0) }
        }
        #expect(delivered == 1)
        #expect(world.aliceClient.frames.pending.isEmpty)
        #expect(world.bobClient.frames.pending == [#"{"event":"e","target":"r","payload":1,"from":"alice"}"#])
    }

    @Test func joinsKeepToTheLimits() throws {
        let world = World(maxRooms: 2)
        try world.context.join("one")
        try world.context.join("two")
        try world.context.join("two")  // already a member: fine
        #expect(throws: ActionRefusal.forbidden) { try world.context.join("three") }
        #expect(throws: ActionRefusal.self) { try world.context.join(String(repeating: "x", count: 257)) }
        #expect(throws: ActionRefusal.self) { try world.context.join("") }
        try world.context.leave("one")
        #expect(throws: ActionRefusal.notFound) { try world.context.leave("one") }
    }

    @Test func permissionsAndDisconnects() throws {
        let world = World()
        #expect(try world.context.hasPermission(user: nil, "a"))
        try world.context.setPermissions(user: "bob", .add(["b"]))
        #expect(try world.context.hasPermission(user: "bob", "b"))
        #expect(throws: ActionRefusal.notFound) { try world.context.setPermissions(user: "nobody", .set([])) }
        #expect(throws: ActionRefusal.self) { try world.context.disconnect(.user("bob"), code: 1001, reason: "") }
        #expect(world.bobClient.closes.pending.isEmpty)
        #expect(try world.context.disconnect(.user("bob"), code: 4008, reason: "banned") == 1)
        #expect(world.bobClient.closes.pending.map(\.code) == [4008])
    }
}
