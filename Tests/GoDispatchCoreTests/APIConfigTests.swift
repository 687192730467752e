import Testing

@testable import GoDispatchCore

@Suite("Configuration of the backend side: api, metrics, drain")
struct APIConfigTests {
    @Test func defaultsAndEveryKey() throws {
        let none = try parseConfig("auth: {jwt: {secret: s}}\nevents: {}\n")
        #expect(none.api == nil, "no API unless written")
        #expect(none.metrics == nil)
        #expect(none.server.drainDelay == .zero)

        let config = try parseConfig(
            """
            server: { drain_delay: 5s, shutdown_timeout: 30s }
            api: { listen: "0.0.0.0:9001", keys: ["${KEY}", "second-key-0123456789"], max_body_bytes: 4096, default_event: push }
            metrics: { listen: "[::1]:9100" }
            auth: {jwt: {secret: s}}
            events: {}
            """, environment: ["KEY": "first-key-0123456789"])
        let api = try #require(config.api)
        #expect(api.host == "0.0.0.0")
        #expect(api.port == 9001)
        #expect(api.keys == ["first-key-0123456789", "second-key-0123456789"])
        #expect(api.maxBodyBytes == 4096)
        #expect(api.defaultEvent == "push")
        #expect(config.metrics == MetricsSettings(host: "::1", port: 9100))
        #expect(config.server.drainDelay == .seconds(5))
        #expect(try parseConfig("api: {keys: [\"k-0123456789abcdef\"]}\nauth: {jwt: {secret: s}}\nevents: {}\n").api?.defaultEvent == "message")
    }

    /// Each error with the exact line and column it names.
    @Test(arguments: [
        ("api: { listen: \"127.0.0.1:9000\" }\n", 1, 6, "`api:` needs `keys:`"),
        ("api: { keys: [short] }\n", 1, 15, "use at least 16 random bytes"),
        ("api: { keys: [\"k-0123456789abcdef\"], listen: nowhere }\n", 1, 46, "`api.listen` must be HOST:PORT"),
        ("api: { keys: [\"k-0123456789abcdef\"], max_body_bytes: 10 }\n", 1, 54, "`api.max_body_bytes` must be a whole number"),
        ("api: { keys: [\"k-0123456789abcdef\"], secret: x }\n", 1, 38, "allowed keys: listen, keys, max_body_bytes, default_event"),
        ("metrics: {}\n", 1, 10, "`metrics:` needs `listen:`"),
        ("server: { drain_delay: 10s }\n", 1, 1, "must be shorter than `server.shutdown_timeout`"),
    ])
    func errorsNameLineAndColumn(_ body: String, _ line: Int, _ column: Int, _ text: String) {
        let errors = configErrors(body + "auth: {jwt: {secret: s}}\nevents: {}\n")
        guard let error = errors.first(where: { $0.message.contains(text) }) else {
            Issue.record("no error mentions \(text): \(errors)")
            return
        }
        #expect(error.location == SourceLocation(file: "bad.yaml", line: line, column: column), "\(error)")
    }
}
