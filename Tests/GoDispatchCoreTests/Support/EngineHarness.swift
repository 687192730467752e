import GoDispatchCore
import GoDispatchTestSupport

/// An engine with in-memory connections: what a test client would see, without sockets.
struct EngineHarness {
    let engine: Engine

    init(events: String, plugins: [String] = bundledPlugins + ["FixtureProbe"], extra: String = "") throws {
        engine = try makeEngine(configHead + "\n" + extra + "\nevents:\n" + events, plugins: plugins)
    }

    init(engine: Engine) { self.engine = engine }

    /// Opens a connection for `user` with global permissions.
    func connect(_ user: String, perms: [String] = []) -> (connection: Connection, client: TestTransport) {
        let transport = TestTransport()
        return (engine.state.connect(userID: user, permissions: perms, transport: transport), transport)
    }

    /// Sends a text message as the client would, on the connection's executor.
    func send(_ json: String, from connection: Connection) {
        let router = engine.router
        connection.transport.executor.execute { router.handle(Array(json.utf8), from: connection) }
    }
}

extension JSONValue {
    /// `payload.code` of an error frame.
    var errorCode: String? {
        guard self["event"] == .string("error"), case .string(let code)? = self["payload"]?["code"] else { return nil }
        return code
    }
}
