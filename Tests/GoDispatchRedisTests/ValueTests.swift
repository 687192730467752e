import Testing

@testable import GoDispatchRedis

@Suite struct RedisURLTests {
    @Test func parsesEveryForm() throws {
        #expect(try RedisURL("redis://localhost") == RedisURL(host: "localhost"))
        #expect(try RedisURL("redis://10.0.0.5:6380/") == RedisURL(host: "10.0.0.5", port: 6380))
        #expect(
            try RedisURL("redis://:s3cret@cache:7000/2")
                == RedisURL(host: "cache", port: 7000, password: "s3cret", database: 2))
        #expect(
            try RedisURL("redis://app:p%40ss:w@cache/3")
                == RedisURL(host: "cache", user: "app", password: "p@ss:w", database: 3))
        #expect(try RedisURL("redis://[::1]:6390/1") == RedisURL(host: "::1", port: 6390, database: 1))
    }

    @Test(arguments: [
        ("http://localhost", RedisURLError.notRedisScheme("http://localhost")),
        ("redis://", .missingHost),
        ("redis://:pw@:6379", .missingHost),
        ("redis://host:0", .invalidPort("0")),
        ("redis://host:65536", .invalidPort("65536")),
        ("redis://host:abc/1", .invalidPort("abc")),
        ("redis://host/db1", .invalidDatabase("db1")),
        ("redis://host/-1", .invalidDatabase("-1")),
        ("redis://secret@host", .missingPassword),
        ("redis://:p%4@host", .invalidPercentEscape("p%4")),
    ])
    func rejectsWithTheReason(text: String, expected: RedisURLError) {
        #expect(throws: expected) { try RedisURL(text) }
    }

    @Test func descriptionHidesThePassword() throws {
        let url = try RedisURL("redis://app:hunter2@cache:6379/1")
        #expect(url.description == "redis://app:***@cache:6379/1")
        #expect(!url.description.contains("hunter2"))
    }
}

@Suite struct BackoffTests {
    /// A deterministic generator that always returns the same word.
    struct Fixed: RandomNumberGenerator {
        var word: UInt64
        mutating func next() -> UInt64 { word }
    }

    @Test func ceilingDoublesUpToTheCap() {
        let backoff = Backoff(initial: .milliseconds(50), cap: .seconds(5))
        let ceilings = (0..<10).map { backoff.ceiling(attempt: $0) }
        #expect(
            ceilings == [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000].map { Duration.milliseconds($0) })
        #expect(backoff.ceiling(attempt: 1_000_000) == .seconds(5))
    }

    @Test func delaysAreJitteredBetweenZeroAndTheCeiling() {
        let backoff = Backoff()
        var random = SystemRandomNumberGenerator()
        for attempt in 0..<20 {
            let delays = (0..<200).map { _ in backoff.delay(attempt: attempt, using: &random) }
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= backoff.ceiling(attempt: attempt) })
            #expect(Set(delays).count > 100, "full jitter spreads the delays")
        }
        var highest = Fixed(word: .max)  // the top of the generator's range is the ceiling itself
        #expect(backoff.delay(attempt: 3, using: &highest) == .milliseconds(400))
    }
}

@Suite struct SHA1Tests {
    @Test(arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        (String(repeating: "a", count: 1000), "291e9a6c66994949b57ba5e650361e98fc36b1ba"),
        ("return redis.call('GET', KEYS[1])", "d3c21d0c2b9ca22f82737626a27bcaf5d288f99f"),
    ])
    func digestsMatchKnownValues(input: String, digest: String) {
        #expect(SHA1.hexDigest(input.utf8) == digest)
    }
}
