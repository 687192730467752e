import NIOCore
import Testing

@testable import GoDispatchRedis

@Suite(.serialized, .timeLimit(.minutes(3))) struct RedisScriptTests {
    @Test func runsByShaAndReloadsAfterScriptFlush() async throws {
        let server = try await RedisServerProcess.start()
        defer { server.stop() }
        let connection = RedisConnection(url: server.url(), logger: quietLogger)
        try await connection.connect()
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")

        #expect(try await script.execute(on: connection, keys: ["counter"], arguments: [5]).int == 5)
        // The local SHA-1 is the one Redis uses.
        #expect(try await connection.execute(["SCRIPT", "EXISTS", .string(script.sha1)]) == .array([.integer(1)]))
        #expect(try await connection.execute(["SCRIPT", "LOAD", .string(script.source)]).string == script.sha1)

        #expect(try await connection.execute(["SCRIPT", "FLUSH"]) == .simpleString("OK"))
        #expect(try await connection.execute(["SCRIPT", "EXISTS", .string(script.sha1)]) == .array([.integer(0)]))
        #expect(try await script.execute(on: connection, keys: ["counter"], arguments: [2]).int == 7)
        #expect(try await connection.execute(["SCRIPT", "EXISTS", .string(script.sha1)]) == .array([.integer(1)]))

        let broken = RedisScript("return redis.call('NOSUCHCOMMAND')")
        await #expect {
            try await broken.execute(on: connection)
        } throws: { error in
            guard case RedisError.server(let message) = error else { return false }
            return !message.hasPrefix("NOSCRIPT")
        }
        await connection.close()
    }
}
