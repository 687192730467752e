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

    /// Closes a connection as the transport does when its socket goes: on its executor, the router
    /// hears of it (queued messages are dropped, `lifecycle.disconnect` runs), then the state forgets it.
    func close(_ connection: Connection, code: UInt16 = 1006) async {
        let (router, state) = (engine.router, engine.state)
        await onExecutor(of: connection) {
            router.disconnected(connection, code: code, reason: "gone")
            state.disconnect(connection)
        }
    }

    /// Runs `work` on the connection's executor and waits for it: everything queued there before has run.
    func onExecutor(of connection: Connection, _ work: @escaping @Sendable () -> Void = {}) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            connection.transport.executor.execute {
                work()
                done.resume()
            }
        }
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
