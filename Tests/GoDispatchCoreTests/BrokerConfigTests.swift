import Testing

@testable import GoDispatchCore

@Suite("Configuration of the broker: one node or several on Redis")
struct BrokerConfigTests {
    @Test func defaultsAndEveryKey() throws {
        let none = try parseConfig("auth: {jwt: {secret: s}}\nevents: {}\n")
        #expect(none.broker == BrokerSettings(), "one node unless written")
        #expect(none.broker.kind == .memory)

        let config = try parseConfig(
            """
            broker:
              type: redis
              url: "redis://:pw@10.0.0.5:6380/2"
              prefix: app1
              node_name: "${HOST}"
              heartbeat: 500ms
            auth: {jwt: {secret: s}}
            events: {}
            """, environment: ["HOST": "web-3"])
        #expect(config.broker.kind == .redis)
        #expect(config.broker.url == "redis://:pw@10.0.0.5:6380/2")
        #expect(config.broker.urlLocation?.line == 3)
        #expect(config.broker.prefix == "app1")
        #expect(config.broker.nodeName == "web-3")
        #expect(config.broker.heartbeat == .milliseconds(500))
    }

    /// Each error with the line and column it names.
    @Test(arguments: [
        ("broker: { type: kafka }\n", 1, 17, "`broker.type` is `memory`"),
        ("broker: { type: redis, url: \"http://x\" }\n", 1, 29, "must look like redis://"),
        ("broker: { prefix: \"a b\" }\n", 1, 19, "`broker.prefix` is 1 to 64 characters"),
        ("broker: { prefix: \"{x}\" }\n", 1, 19, "without spaces or braces"),
        ("broker: { node_name: \"two words\" }\n", 1, 22, "`broker.node_name` is at most 128 characters without spaces"),
        ("broker: { heartbeat: 10ms }\n", 1, 22, "`broker.heartbeat` must be between 100ms and 60s"),
        ("broker: { hosts: [a] }\n", 1, 11, "allowed keys: type, url, prefix, node_name, heartbeat"),
    ])
    func errorsNameTheirPlace(yaml: String, line: Int, column: Int, message: String) {
        let errors = configErrors(yaml + "auth: {jwt: {secret: s}}\nevents: {}\n")
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.location.line == line)
        #expect(errors.first?.location.column == column, "\(errors)")
        #expect(errors.first?.message.contains(message) == true, "\(errors)")
    }
}
