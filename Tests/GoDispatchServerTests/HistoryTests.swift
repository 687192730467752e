import GoDispatchCore
import Testing

/// History and recovery end to end: real sockets, real JWTs, the real Rooms, Messaging and History plugins.
@Suite struct HistoryEndToEndTests {
    static let rooms = """
        rooms:
          "chat:*": { history: { size: 100000, ttl: 300s }, recovery: true, recovery_max: 100000 }
          "small:*": { history: { size: 10, ttl: 300s }, recovery: true }
          "capped:*": { history: { size: 1000, ttl: 300s }, recovery: true, recovery_max: 20 }
        """

    static let events = """
        events:
          room.join:
            pipeline:
              - action: _join
                params: { room: "{{target}}", since: "{{payload.since}}" }
          room.leave:
            pipeline:
              - action: _leave
                params: { room: "{{target}}" }
              - action: _notify_origin
                params: { event: left, target: "{{target}}" }
          chat.send:
            pipeline:
              - action: _notify_room
                params: { room: "{{target}}", event: chat.message, payload: "{{payload}}", allow_non_member: true }
              - action: _notify_origin
                params: { event: sent }
          history.get:
            pipeline:
              - action: _history
                params: { room: "{{target}}", limit: "{{payload.limit}}" }
        """

    static func with<R>(_ body: (ServerHarness) async throws -> R) async throws -> R {
        try await ServerHarness.with(config: rooms, events: events, body)
    }

    /// Sends `count` chat messages `{"n": i}` to `room` (i from `first`) and waits for every `sent`.
    static func publish(_ client: TestClient, _ room: String, count: Int, first: Int = 1) async throws {
        try await client.client.send(texts: (first..<(first + count)).map { #"{"event":"chat.send","target":"\#(room)","payload":{"n":\#($0)}}"# })
        for _ in 0..<count {
            let frame = try #require(await client.nextJSON())
            try #require(frame["event"] == .string("sent"), "\(frame)")
        }
    }

    /// Joins `room` from `since` and returns `_joined`'s payload (frames before it are skipped).
    static func join(_ client: TestClient, _ room: String, since: (offset: Int, epoch: String)? = nil) async throws -> JSONValue {
        let payload = since.map { #","payload":{"since":{"offset":\#($0.offset),"epoch":"\#($0.epoch)"}}"# } ?? ""
        try await client.send(#"{"event":"room.join","target":"\#(room)","id":"join-\#(room)"\#(payload)}"#)
        while true {
            let frame = try #require(await client.nextJSON())
            if frame["event"] == .string("_joined") {
                #expect(frame["target"] == .string(room))
                #expect(frame["ref"] == .string("join-\(room)"), "_joined answers the join message")
                return try #require(frame["payload"])
            }
            try #require(frame["event"] == .string("chat.message"), "\(frame)")
        }
    }

    /// Publishes `total` frames in batches of 50, each batch after the previous one's acks.
    static func publishInBatches(_ client: TestClient, _ room: String, total: Int) async throws {
        for batch in 0..<(total / 50) { try await publish(client, room, count: 50, first: batch * 50 + 1) }
    }

    static func int(_ value: JSONValue?) -> Int? {
        guard case .number(let text)? = value else { return nil }
        return Int(text)
    }

    static func epoch(_ payload: JSONValue) throws -> String {
        guard case .string(let epoch)? = payload["epoch"] else { throw HistoryTestError.noEpoch }
        return epoch
    }

    enum HistoryTestError: Error { case noEpoch }

    @Test func aClientThatMissed50FramesRecoversExactlyThoseInOrder() async throws {
        try await Self.with { h in
            let bob = try await h.connect("bob")
            let alice = try await h.connect("alice")
            let joined = try await Self.join(alice, "chat:lobby")
            #expect(joined["recovered"] == .bool(false))
            #expect(joined["publications"] == .array([]))
            #expect(Self.int(joined["offset"]) == 0)
            let epoch = try Self.epoch(joined)
            try await Self.publish(bob, "chat:lobby", count: 1)
            let live = try #require(await alice.nextJSON())
            #expect(live == .object([
                ("event", .string("chat.message")), ("target", .string("chat:lobby")), ("payload", .object([("n", .number("1"))])),
                ("from", .string("bob")), ("offset", .number("1")), ("epoch", .string(epoch)),
            ]))
            await alice.client.disconnect()
            try await Self.publish(bob, "chat:lobby", count: 50, first: 2)
            let again = try await h.connect("alice")
            let recovered = try await Self.join(again, "chat:lobby", since: (1, epoch))
            #expect(recovered["recovered"] == .bool(true))
            #expect(Self.int(recovered["offset"]) == 51)
            guard case .array(let publications)? = recovered["publications"] else { Issue.record("no publications"); return }
            #expect(publications.map { Self.int($0["offset"]) } == (2...51).map { $0 })
            #expect(publications.map { $0["payload"]?["n"] } == (2...51).map { .number(String($0)) })
            #expect(publications.allSatisfy { $0["from"] == .string("bob") && $0["epoch"] == .string(epoch) })
            // Live again after the replay.
            try await Self.publish(bob, "chat:lobby", count: 1, first: 52)
            #expect(Self.int(await again.nextJSON()?["offset"]) == 52)
        }
    }

    @Test func aWrongEpochRecoversNothing() async throws {
        try await Self.with { h in
            let bob = try await h.connect("bob")
            try await Self.publish(bob, "chat:a", count: 5)
            let alice = try await h.connect("alice")
            let joined = try await Self.join(alice, "chat:a", since: (2, "not-the-epoch"))
            #expect(joined["recovered"] == .bool(false))
            #expect(joined["publications"] == .array([]))
            #expect(Self.int(joined["offset"]) == 5)
        }
    }

    @Test func aRestartedServerHasANewEpochAndRecoversNothing() async throws {
        let old: (offset: Int, epoch: String) = try await Self.with { h in
            let bob = try await h.connect("bob")
            try await Self.publish(bob, "chat:a", count: 5)
            let alice = try await h.connect("alice")
            let joined = try await Self.join(alice, "chat:a")
            return (try #require(Self.int(joined["offset"])), try Self.epoch(joined))
        }
        #expect(old.offset == 5)
        try await Self.with { h in
            let bob = try await h.connect("bob")
            try await Self.publish(bob, "chat:a", count: 8)
            let alice = try await h.connect("alice")
            let joined = try await Self.join(alice, "chat:a", since: old)
            #expect(joined["recovered"] == .bool(false))
            #expect(joined["publications"] == .array([]))
            #expect(joined["epoch"] != .string(old.epoch))
        }
    }

    @Test func framesTrimmedBySizeOrAGapBeyondRecoveryMaxRecoverNothing() async throws {
        try await Self.with { h in
            let bob = try await h.connect("bob")
            let alice = try await h.connect("alice")
            try await Self.publish(bob, "small:a", count: 20)
            let small = try await Self.join(alice, "small:a")
            let smallEpoch = try Self.epoch(small)
            try await Self.publish(bob, "capped:a", count: 30)
            let capped = try await Self.join(alice, "capped:a")
            let cappedEpoch = try Self.epoch(capped)
            let carol = try await h.connect("carol")
            let trimmed = try await Self.join(carol, "small:a", since: (5, smallEpoch))
            #expect(trimmed["recovered"] == .bool(false), "frames 6-10 were trimmed (size 10)")
            #expect(trimmed["publications"] == .array([]))
            let gap = try await Self.join(carol, "capped:a", since: (5, cappedEpoch))
            #expect(gap["recovered"] == .bool(false), "25 missed, recovery_max 20")
            #expect(gap["publications"] == .array([]))
            let dave = try await h.connect("dave")
            let within = try await Self.join(dave, "capped:a", since: (10, cappedEpoch))
            #expect(within["recovered"] == .bool(true))
            guard case .array(let publications)? = within["publications"] else { Issue.record("no publications"); return }
            #expect(publications.count == 20)
        }
    }

    @Test func aMalformedSinceIsRefusedAndJoinsNothing() async throws {
        try await Self.with { h in
            let alice = try await h.connect("alice")
            try await alice.send(#"{"event":"room.join","target":"chat:a","payload":{"since":{"offset":"x"}}}"#)
            let frame = try #require(await alice.nextJSON())
            #expect(frame.errorCode == "action_failed", "\(frame)")
            guard case .string(let message)? = frame["payload"]?["message"] else { Issue.record("no message: \(frame)"); return }
            #expect(message.contains("`since` must be"), "\(message)")
            // A join without since still works and still answers `_joined`.
            #expect(try await Self.join(alice, "chat:a")["recovered"] == .bool(false))
        }
    }

    @Test func historyActionSendsTheNewestFrames() async throws {
        try await Self.with { h in
            let bob = try await h.connect("bob")
            try await Self.publish(bob, "chat:h", count: 7)
            let alice = try await h.connect("alice")
            try await alice.send(#"{"event":"history.get","target":"chat:h","payload":{"limit":3}}"#)
            let frame = try #require(await alice.nextJSON())
            #expect(frame["event"] == .string("_history"))
            #expect(frame["target"] == .string("chat:h"))
            #expect(Self.int(frame["payload"]?["offset"]) == 7)
            guard case .array(let publications)? = frame["payload"]?["publications"] else { Issue.record("no publications"); return }
            #expect(publications.map { Self.int($0["offset"]) } == [5, 6, 7])
            #expect(publications.map { $0["payload"]?["n"] } == [.number("5"), .number("6"), .number("7")])
            try await alice.send(#"{"event":"history.get","target":"plain","payload":{"limit":3}}"#)
            let refused = try #require(await alice.nextJSON())
            #expect(refused.errorCode == "action_failed", "a room without history is refused: \(refused)")
        }
    }

    /// A publisher on one connection sends continuously while another connection keeps leaving and
    /// joining again from its last offset: every frame reaches it exactly once, in order, either in
    /// `_joined`'s publications or live after it.
    @Test func publishesRacingJoinsAreNeitherLostNorDoubled() async throws {
        try await Self.with { h in
            let raced = 3000
            // Besides the racing publisher, a third client publishes `gap` frames while the joiner is
            // out after its first cycle, so some frames are recovered however fast the race runs.
            let gap = 5
            let total = raced + gap
            let room = "chat:race"
            let publisher = try await h.connect("bob")
            let joiner = try await h.connect("alice")
            let gapPublisher = try await h.connect("carol")
            async let published: Void = Self.publishInBatches(publisher, room, total: raced)
            var last = 0  // the last offset received while a member, contiguously
            var epoch: String?
            var cycles = 0
            var recoveredFrames = 0
            // At least six cycles, even when a fast publisher is done first: those later joins recover from
            // the end of the stream.
            while last < total || cycles < 6 {
                cycles += 1
                let joined = try await Self.join(joiner, room, since: epoch.map { (last, $0) })
                let top = try #require(Self.int(joined["offset"]))
                if let epoch {
                    #expect(joined["epoch"] == .string(epoch))
                    try #require(joined["recovered"] == .bool(true), "cycle \(cycles): \(joined)")
                } else {
                    epoch = try Self.epoch(joined)
                    last = top  // the first join starts from the top
                }
                guard case .array(let publications)? = joined["publications"] else { Issue.record("no publications"); return }
                let offsets = publications.map { Self.int($0["offset"]) }
                try #require(offsets == Array(stride(from: last + 1, through: top, by: 1)), "cycle \(cycles): replay \(offsets) after \(last)")
                recoveredFrames += offsets.count
                last = top
                // A few live frames, then leave; everything until `left` must continue the sequence.
                let live = min(cycles % 7 + 1, total - last)
                for _ in 0..<live {
                    let frame = try #require(await joiner.nextJSON())
                    try #require(Self.int(frame["offset"]) == last + 1, "cycle \(cycles): \(frame) after \(last)")
                    last += 1
                }
                try await joiner.send(#"{"event":"room.leave","target":"\#(room)"}"#)
                while true {
                    let frame = try #require(await joiner.nextJSON())
                    if frame["event"] == .string("left") { break }
                    try #require(Self.int(frame["offset"]) == last + 1, "cycle \(cycles): \(frame) after \(last)")
                    last += 1
                }
                if cycles == 1 { try await Self.publish(gapPublisher, room, count: gap, first: 1_000_000) }
            }
            try await published
            #expect(last == total)
            #expect(recoveredFrames > 0, "some frames were published while the joiner was out")
        }
    }
}
