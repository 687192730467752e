import Foundation
import GoDispatchCore
import GoDispatchServer
import GoDispatchTestSupport
import Logging
import NIOCore
import NIOPosix
import Testing

/// A socket listening on 127.0.0.1 on a free port, standing in for another process; and that port.
func occupyPort() async throws -> (channel: any Channel, port: Int) {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    return (channel, try #require(channel.localAddress?.port))
}

@Suite("Listen addresses in use")
struct ListenAddressTests {
    @Test func everyListenerNamesTheAddressItsKeyAndTheFix() async throws {
        let (other, port) = try await occupyPort()
        defer { other.close(promise: nil) }
        let checked = try await #require(throws: ListenError.self) {
            try await WebSocketServer.checkAddresses([(.server, "127.0.0.1", port)])
        }
        #expect(checked.kind == .addressInUse)
        #expect(checked.description.hasPrefix("cannot listen on 127.0.0.1:\(port) (`server.listen`): the address is already in use"))

        // The real binds say the same, naming their own keys.
        let h = try await ServerHarness()
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let server = try await #require(throws: ListenError.self) { try await h.server.start(host: "127.0.0.1", port: port) }
        #expect(server.listener == .server && server.kind == .addressInUse)
        var settings = APISettings()
        settings.keys = ["an-api-key-of-sixteen-bytes-or-more"]
        let api = APIServer(engine: h.server.engine, settings: settings, readiness: h.server.readiness, logger: quiet)
        let apiError = try await #require(throws: ListenError.self) { try await api.start(host: "127.0.0.1", port: port) }
        #expect(apiError.description.contains("127.0.0.1:\(port) (`api.listen`)") && apiError.description.contains("--api-port"))
        let metrics = APIServer(
            engine: h.server.engine, settings: nil, metricsSettings: MetricsSettings(host: "127.0.0.1", port: port),
            readiness: h.server.readiness, metrics: { [] }, logger: quiet)
        let metricsError = try await #require(throws: ListenError.self) { try await metrics.start() }
        #expect(metricsError.listener == .metrics && metricsError.description.contains("`metrics.listen`"))
        await h.stop()
    }

    @Test func twoListenersOnOneAddressAreCaughtAndNothingStaysBound() async throws {
        // A port just freed can be taken by another test running beside this one (then the server listener's
        // bind fails first): such an attempt proves nothing, so it tries another port, a few times.
        var caught = false
        var released = false
        for _ in 1...5 where !released {
            let port = try await freedPort()
            let first = await listenError([(.server, "127.0.0.1", port), (.api, "127.0.0.1", port)])
            if first?.listener == .server { continue }
            caught = first?.listener == .api && first?.kind == .addressInUse
            guard caught else { break }
            // The check released what it bound: the address is free again.
            let second = await listenError([(.server, "127.0.0.1", port), (.metrics, "127.0.0.1", 0)])
            released = second == nil
        }
        #expect(caught, "two listeners on one address were not caught")
        #expect(released, "the check left the address bound (or every port was taken meanwhile)")
    }

    /// A port that was free a moment ago.
    func freedPort() async throws -> Int {
        let (probe, port) = try await occupyPort()
        try await probe.close()
        return port
    }

    /// The error `checkAddresses` throws for `addresses`, or nil.
    func listenError(_ addresses: [(ListenError.Listener, String, Int)]) async -> ListenError? {
        do {
            try await WebSocketServer.checkAddresses(addresses)
            return nil
        } catch {
            return error
        }
    }

    @Test func serveRefusesABusyPortBeforeLoadingAnyPlugin() async throws {
        let (other, port) = try await occupyPort()
        defer { other.close(promise: nil) }
        let path = try writeConfig(ServeReloadTests.config("v1"))
        // A plugins directory that does not exist: had plugins loaded first, that would be the error.
        let result = try await runGodispatch(["serve", "--config", path, "--port", "\(port)", "--plugins", "/nonexistent/plugins"])
        #expect(result.status == 2)
        #expect(result.err.contains("cannot listen on 127.0.0.1:\(port) (`server.listen`): the address is already in use"), "\(result.err)")
        #expect(result.err.contains("or with --port"))
        #expect(!result.err.contains("plugins directory") && !result.err.contains("errno"), "\(result.err)")

        let plugins = try makePluginDirectory(bundledPlugins)
        let withPlugins = try await runGodispatch(["serve", "--config", path, "--port", "\(port)", "--plugins", plugins])
        #expect(withPlugins.status == 2)
        #expect(!withPlugins.err.contains("plugin loaded"), "no plugin is loaded: \(withPlugins.err)")

        let api = try writeConfig(
            ServeReloadTests.config("v1") + "\napi: { listen: \"127.0.0.1:\(port)\", keys: [an-api-key-of-sixteen-bytes] }\n")
        let apiResult = try await runGodispatch(["serve", "--config", api, "--plugins", plugins])
        #expect(apiResult.status == 2)
        #expect(apiResult.err.contains("(`api.listen`)") && apiResult.err.contains("--api-port"), "\(apiResult.err)")
    }
}
