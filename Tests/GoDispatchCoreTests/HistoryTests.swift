import CGoDispatchABI
import Dispatch
import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

/// Room streams without sockets: numbering, trimming, all-or-nothing recovery, reloads, dropping.
@Suite("History and recovery (room streams)")
struct HistoryTests {
    struct World {
        let state = InMemoryStateManager()
        let clock = ManualClock()
        let services: EngineServices
        let alice: Connection
        let aliceClient = TestTransport()
        let bob: Connection
        let bobClient = TestTransport()

        init(rooms: String) throws {
            let config = try parseConfig("auth: {jwt: {secret: s}}\nrooms:\n\(rooms)\nevents: {}\n")
            let clock = self.clock
            services = EngineServices(state: state, logger: quietLogger, clock: { clock.now })
            services.streams.apply(config.rooms)
            alice = state.connect(userID: "alice", permissions: [], transport: aliceClient)
            bob = state.connect(userID: "bob", permissions: [], transport: bobClient)
        }

        /// Publishes `n` frames `{"event":"m","target":room,"payload":i}` (i counting from `first`).
        @discardableResult
        func publish(_ room: String, count n: Int, first: Int = 1) -> [RoomDelivery] {
            (first..<(first + n)).map { i in
                Array(String(i).utf8).withUnsafeBytes { payload in
                    services.publish(BackendCommands.frame(event: "m", target: room, payloadJSON: payload), toRoom: room)
                }
            }
        }

        /// Alice joins `room` (from `since`) and returns the `_joined` frame she gets.
        func join(_ room: String, since: StreamPosition?) throws -> JSONValue {
            try ActionContext(origin: alice, services: services).join(room, since: since)
            return try #require(aliceClient.frames.pending.last.flatMap { try? JSONReader.parse(Array($0.utf8)) })
        }
    }

    static let recovering = #"  "chat:*": { history: { size: 100, ttl: 60s }, recovery: true, recovery_max: 60 }"#

    @Test func framesAreNumberedPerRoomAndRoomsWithoutHistoryAreUntouched() throws {
        let world = try World(rooms: Self.recovering)
        world.state.join(world.bob, room: "chat:a")
        world.state.join(world.bob, room: "plain")
        let deliveries = world.publish("chat:a", count: 3) + world.publish("chat:b", count: 1) + world.publish("plain", count: 1)
        #expect(deliveries.map { $0.position?.offset } == [1, 2, 3, 1, nil])
        let epoch = try #require(deliveries[0].position?.epoch)
        #expect(deliveries[1].position?.epoch == epoch)
        #expect(deliveries[3].position?.epoch != epoch, "each room's stream has its own epoch")
        #expect(world.bobClient.frames.pending == [
            #"{"event":"m","target":"chat:a","payload":1,"offset":1,"epoch":"\#(epoch)"}"#,
            #"{"event":"m","target":"chat:a","payload":2,"offset":2,"epoch":"\#(epoch)"}"#,
            #"{"event":"m","target":"chat:a","payload":3,"offset":3,"epoch":"\#(epoch)"}"#,
            #"{"event":"m","target":"plain","payload":1}"#,
        ])
        #expect(world.services.streams.streamCount == 2)
    }

    @Test func aConfigWithoutRoomsKeepsNoStreams() throws {
        let world = try World(rooms: "  {}")
        world.state.join(world.bob, room: "chat:a")
        #expect(world.publish("chat:a", count: 2).map(\.position) == [nil, nil])
        #expect(world.services.streams.streamCount == 0)
        #expect(world.services.streams.stream(for: "chat:a") == nil)
    }

    @Test func missedFramesAreRecoveredExactlyAndInOrder() throws {
        let world = try World(rooms: Self.recovering)
        let epoch = try #require(world.publish("chat:a", count: 60).last?.position?.epoch)
        let joined = try world.join("chat:a", since: StreamPosition(offset: 10, epoch: epoch))
        #expect(joined["event"] == .string("_joined"))
        #expect(joined["target"] == .string("chat:a"))
        #expect(joined["payload"]?["offset"] == .number("60"))
        #expect(joined["payload"]?["epoch"] == .string(epoch))
        #expect(joined["payload"]?["recovered"] == .bool(true))
        guard case .array(let publications)? = joined["payload"]?["publications"] else { Issue.record("no publications"); return }
        #expect(publications.map { $0["offset"] } == (11...60).map { .number(String($0)) })
        #expect(publications.map { $0["payload"] } == (11...60).map { .number(String($0)) })
        #expect(publications.first == .object([
            ("event", .string("m")), ("target", .string("chat:a")), ("payload", .number("11")), ("offset", .number("11")),
            ("epoch", .string(epoch)),
        ]))
        #expect(world.alice.rooms.contains("chat:a"))
    }

    @Test func withoutSinceTheJoinerLearnsThePositionOnly() throws {
        let world = try World(rooms: Self.recovering)
        world.publish("chat:a", count: 5)
        let joined = try world.join("chat:a", since: nil)
        #expect(joined["payload"]?["offset"] == .number("5"))
        #expect(joined["payload"]?["recovered"] == .bool(false))
        #expect(joined["payload"]?["publications"] == .array([]))
    }

    @Test func anUpToDateSinceRecoversNothingMissing() throws {
        let world = try World(rooms: Self.recovering)
        let epoch = try #require(world.publish("chat:a", count: 5).last?.position?.epoch)
        let joined = try world.join("chat:a", since: StreamPosition(offset: 5, epoch: epoch))
        #expect(joined["payload"]?["recovered"] == .bool(true))
        #expect(joined["payload"]?["publications"] == .array([]))
    }

    /// Every way recovery must refuse: the answer is `recovered: false` and no publication at all.
    func expectNotRecovered(_ joined: JSONValue, _ comment: Comment) {
        #expect(joined["event"] == .string("_joined"), comment)
        #expect(joined["payload"]?["recovered"] == .bool(false), comment)
        #expect(joined["payload"]?["publications"] == .array([]), comment)
    }

    @Test func aWrongEpochAFutureOffsetOrRecoveryOffRecoverNothing() throws {
        let world = try World(rooms: Self.recovering + "\n  \"norec:*\": { history: { size: 100, ttl: 60s } }")
        let epoch = try #require(world.publish("chat:a", count: 5).last?.position?.epoch)
        expectNotRecovered(try world.join("chat:a", since: StreamPosition(offset: 2, epoch: "another")), "wrong epoch")
        _ = world.state.leave(world.alice, room: "chat:a")
        expectNotRecovered(try world.join("chat:a", since: StreamPosition(offset: 9, epoch: epoch)), "ahead of the stream")
        let other = try #require(world.publish("norec:a", count: 5).last?.position?.epoch)
        expectNotRecovered(try world.join("norec:a", since: StreamPosition(offset: 2, epoch: other)), "recovery off")
    }

    @Test func aNewStreamHasANewEpochSoARestartIsNeverContinuity() throws {
        let before = try World(rooms: Self.recovering)
        let old = try #require(before.publish("chat:a", count: 5).last?.position)
        let after = try World(rooms: Self.recovering)  // a new process: new streams
        after.publish("chat:a", count: 7)
        let joined = try after.join("chat:a", since: old)
        expectNotRecovered(joined, "another process")
        #expect(joined["payload"]?["epoch"] != .string(old.epoch))
    }

    @Test func framesTrimmedBySizeAreNotRecovered() throws {
        let world = try World(rooms: #"  "chat:*": { history: { size: 10, ttl: 60s }, recovery: true }"#)
        let epoch = try #require(world.publish("chat:a", count: 30).last?.position?.epoch)
        expectNotRecovered(try world.join("chat:a", since: StreamPosition(offset: 19, epoch: epoch)), "11 missed, 10 held")
        _ = world.state.leave(world.alice, room: "chat:a")
        let joined = try world.join("chat:a", since: StreamPosition(offset: 20, epoch: epoch))
        #expect(joined["payload"]?["recovered"] == .bool(true), "exactly the 10 held")
    }

    @Test func framesTrimmedByTTLAreNotRecovered() throws {
        let world = try World(rooms: #"  "chat:*": { history: { size: 100, ttl: 10s }, recovery: true }"#)
        let epoch = try #require(world.publish("chat:a", count: 3).last?.position?.epoch)
        world.clock.advance(by: .seconds(6))
        world.publish("chat:a", count: 3, first: 4)
        world.clock.advance(by: .seconds(5))  // frames 1-3 are 11 s old, 4-6 are 5 s old
        expectNotRecovered(try world.join("chat:a", since: StreamPosition(offset: 2, epoch: epoch)), "3 expired")
        _ = world.state.leave(world.alice, room: "chat:a")
        let joined = try world.join("chat:a", since: StreamPosition(offset: 3, epoch: epoch))
        #expect(joined["payload"]?["recovered"] == .bool(true))
        guard case .array(let publications)? = joined["payload"]?["publications"] else { Issue.record("no publications"); return }
        #expect(publications.map { $0["offset"] } == [.number("4"), .number("5"), .number("6")])
    }

    @Test func aGapBeyondRecoveryMaxIsNotRecovered() throws {
        let world = try World(rooms: #"  "chat:*": { history: { size: 100, ttl: 60s }, recovery: true, recovery_max: 20 }"#)
        let epoch = try #require(world.publish("chat:a", count: 50).last?.position?.epoch)
        expectNotRecovered(try world.join("chat:a", since: StreamPosition(offset: 29, epoch: epoch)), "21 missed")
        _ = world.state.leave(world.alice, room: "chat:a")
        #expect(try world.join("chat:a", since: StreamPosition(offset: 30, epoch: epoch))["payload"]?["recovered"] == .bool(true))
    }

    @Test func aMemberJoiningAgainGetsThePositionAndNoReplay() throws {
        let world = try World(rooms: Self.recovering)
        let epoch = try #require(world.publish("chat:a", count: 5).last?.position?.epoch)
        _ = try world.join("chat:a", since: nil)
        expectNotRecovered(try world.join("chat:a", since: StreamPosition(offset: 1, epoch: epoch)), "already a member")
    }

    @Test func aReloadKeepsStreamsThatStillKeepHistoryAndDropsTheOthers() throws {
        let world = try World(rooms: Self.recovering)
        let kept = try #require(world.publish("chat:a", count: 3).last?.position)
        world.publish("plain", count: 1)
        let dropped = try #require(world.services.streams.stream(for: "chat:b"))
        let reloaded = try parseConfig(
            "auth: {jwt: {secret: s}}\nrooms:\n  \"chat:a\": { history: { size: 2, ttl: 60s } }\n  \"plain\": { history: { size: 2, ttl: 60s } }\nevents: {}\n")
        world.services.streams.apply(reloaded.rooms)
        #expect(world.publish("chat:a", count: 1).last?.position == StreamPosition(offset: 4, epoch: kept.epoch))
        #expect(world.publish("plain", count: 1).last?.position?.offset == 1, "a cached miss is forgotten on reload")
        #expect(world.publish("chat:b", count: 1).last?.position == nil, "no rule keeps chat:b's history any more")
        #expect(dropped.withMembershipLock { true } == nil, "its old stream is retired")
        let page = try BackendCommands(services: world.services).history(room: "chat:a", limit: -1, since: nil, reverse: false)
        #expect(page.publications.map(\.offset) == [3, 4], "trimmed to the new size")
    }

    @Test func idleStreamsOfEmptyRoomsAreDroppedAndComeBackWithANewEpoch() throws {
        let world = try World(rooms: #"  "h:*": { history: { size: 10, ttl: 1s }, recovery: true }"#)
        world.state.join(world.bob, room: "h:busy")
        let first = try #require(world.publish("h:gone", count: 1).last?.position)
        let old = try #require(world.services.streams.stream(for: "h:gone"))
        world.publish("h:busy", count: 1)
        world.clock.advance(by: .seconds(2))
        for index in 0..<1100 { _ = world.services.streams.stream(for: "other\(index)") }
        #expect(world.services.streams.streamCount == 1, "only the room with a member keeps its stream")
        let again = try #require(world.publish("h:gone", count: 1).last?.position)
        #expect(again.offset == 1)
        #expect(again.epoch != first.epoch)
        let frame = BackendCommands.frame(event: "m", target: "h:gone", payloadJSON: nil)
        #expect(old.publish(frame, now: world.clock.now) { _ in 0 } == nil, "a dropped stream takes nothing more")
        #expect(old.withMembershipLock { true } == nil)
        #expect(world.services.streams.stream(for: "h:gone") !== old)
    }

    @Test func backendHistoryPagesForwardBackwardAndSince() throws {
        let world = try World(rooms: Self.recovering)
        let epoch = try #require(world.publish("chat:a", count: 10).last?.position?.epoch)
        let backend = BackendCommands(services: world.services)
        #expect(try backend.history(room: "chat:a", limit: nil, since: nil, reverse: false).publications.isEmpty)
        #expect(try backend.history(room: "chat:a", limit: 3, since: nil, reverse: false).publications.map(\.offset) == [1, 2, 3])
        #expect(try backend.history(room: "chat:a", limit: 3, since: nil, reverse: true).publications.map(\.offset) == [10, 9, 8])
        let since = StreamPosition(offset: 5, epoch: epoch)
        #expect(try backend.history(room: "chat:a", limit: 2, since: since, reverse: false).publications.map(\.offset) == [6, 7])
        #expect(try backend.history(room: "chat:a", limit: 2, since: since, reverse: true).publications.map(\.offset) == [4, 3])
        #expect(throws: BackendRefusal.self) {
            try backend.history(room: "chat:a", limit: 1, since: StreamPosition(offset: 1, epoch: "x"), reverse: false)
        }
        #expect(throws: BackendRefusal.self) { try backend.history(room: "plain", limit: 1, since: nil, reverse: false) }
        let parts = try #require(backend.history(room: "chat:a", limit: 1, since: nil, reverse: false).publications.first?.parts)
        #expect(parts.event == "m")
        #expect(parts.payloadJSON.map { Array($0) } == Array("1".utf8))
        #expect(parts.from == nil)
        try backend.removeHistory(room: "chat:a")
        let after = try backend.history(room: "chat:a", limit: -1, since: nil, reverse: false)
        #expect(after.publications.isEmpty)
        #expect(after.position == StreamPosition(offset: 10, epoch: epoch), "removal keeps the offset and epoch")
        #expect(world.publish("chat:a", count: 1).last?.position?.offset == 11)
    }

    @Test func sendHistoryGivesTheOriginTheNewestFrames() throws {
        let world = try World(rooms: Self.recovering)
        let epoch = try #require(world.publish("chat:a", count: 6).last?.position?.epoch)
        #expect(try ActionContext(origin: world.alice, services: world.services).sendHistory(room: "chat:a", limit: 2) == 2)
        let frame = try #require(world.aliceClient.frames.pending.last.flatMap { try? JSONReader.parse(Array($0.utf8)) })
        #expect(frame["event"] == .string("_history"))
        #expect(frame["payload"]?["offset"] == .number("6"))
        #expect(frame["payload"]?["epoch"] == .string(epoch))
        #expect(frame["payload"]?["recovered"] == nil)
        guard case .array(let publications)? = frame["payload"]?["publications"] else { Issue.record("no publications"); return }
        #expect(publications.map { $0["offset"] } == [.number("5"), .number("6")])
        #expect(throws: ActionRefusal.notFound) {
            try ActionContext(origin: world.alice, services: world.services).sendHistory(room: "plain", limit: 2)
        }
    }

    @Test func positionsParseFromJSON() {
        func parse(_ text: String) -> StreamPosition? { Array(text.utf8).withUnsafeBytes { StreamPosition(json: $0) } }
        #expect(parse(#"{"offset":7,"epoch":"e"}"#) == StreamPosition(offset: 7, epoch: "e"))
        #expect(parse(#"{"epoch":"e","offset":0,"x":1}"#) == StreamPosition(offset: 0, epoch: "e"))
        for bad in ["", "7", #"{"offset":-1,"epoch":"e"}"#, #"{"offset":1}"#, #"{"offset":"1","epoch":"e"}"#, "{"] {
            #expect(parse(bad) == nil, "\(bad)")
        }
    }

    @Test func aReloadThroughTheEngineChangesWhichRoomsAreNumbered() throws {
        let engine = try makeEngine(
            configHead + "\nrooms:\n  \"chat:*\": { history: { size: 10, ttl: 60s } }\nevents: {}\n")
        let frame = BackendCommands.frame(event: "m", target: "chat:a", payloadJSON: nil)
        #expect(engine.backend.publish(frame, toRoom: "chat:a").position?.offset == 1)
        _ = try engine.reload(try parseConfig(configHead + "\nevents: {}\n"))
        #expect(engine.backend.publish(frame, toRoom: "chat:a").position == nil)
        #expect(engine.router.services.streams.streamCount == 0)
    }

    @Test func everyThreadForgetsItsCachedAnswersOnReload() throws {
        let world = try World(rooms: Self.recovering)
        let streams = world.services.streams
        let before = Locked<[Bool]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            for _ in 0..<100 {
                let answers = [streams.stream(for: "plain") == nil, streams.stream(for: "chat:a") != nil]
                before.withLock { $0 += answers }
            }
        }
        #expect(before.withLock { $0.allSatisfy { $0 } })
        streams.apply(try parseConfig("auth: {jwt: {secret: s}}\nrooms:\n  plain: { history: { size: 5, ttl: 1m } }\nevents: {}\n").rooms)
        let after = Locked<[Bool]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            for _ in 0..<100 {
                let answers = [streams.stream(for: "plain") != nil, streams.stream(for: "chat:a") == nil]
                after.withLock { $0 += answers }
            }
        }
        #expect(after.withLock { $0.count == 3200 && $0.allSatisfy { $0 } })
    }

    @Test func theHistoryHostFunctionsAreAppendedAtTheEndOfTheTable() {
        let table = HostTable.shared.pointee
        #expect(table.abi_minor == 2)
        #expect(Int(table.size) == MemoryLayout<gd_host_api>.size)
        let afterHTTP = MemoryLayout<gd_host_api>.offset(of: \.http_request)! + MemoryLayout<Int>.size
        #expect(MemoryLayout<gd_host_api>.offset(of: \.join_since) == afterHTTP)
        #expect(MemoryLayout<gd_host_api>.offset(of: \.send_history) == afterHTTP + MemoryLayout<Int>.size)
        #expect(table.join_since != nil)
        #expect(table.send_history != nil)
    }
}
