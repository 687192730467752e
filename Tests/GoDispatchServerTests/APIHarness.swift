import AsyncHTTPClient
import Foundation
import GoDispatchCore
import GoDispatchServer
import Logging
import NIOCore
import NIOHTTP1

/// A real WebSocket server with its API listener, both on 127.0.0.1 port 0, and an HTTP client for the API.
final class APIHarness: Sendable {
    static let key = "api-test-key-0123456789abcdef"
    static let otherKey = "api-rotated-key-0123456789abcdef"

    let ws: ServerHarness
    let api: APIServer
    let apiPort: Int

    init(
        config extra: String = "", events: String = ServerHarness.chatEvents, serverExtra: String = "", apiExtra: String = "",
        metrics: (@Sendable () -> [UInt8])? = nil
    ) async throws {
        ws = try await ServerHarness(
            config: "api: { listen: \"127.0.0.1:0\", keys: [\"\(Self.key)\", \"\(Self.otherKey)\"]\(apiExtra) }\n" + extra,
            events: events, serverExtra: serverExtra)
        let engine = ws.server.engine
        api = APIServer(
            engine: engine, settings: engine.config.settings.api!, readiness: ws.server.readiness, metrics: metrics,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await api.start(port: 0)
        apiPort = api.port!
    }

    /// Runs `body` against a fresh pair of servers and stops them afterwards, also when `body` throws.
    static func with<R>(
        config: String = "", events: String = ServerHarness.chatEvents, serverExtra: String = "", apiExtra: String = "",
        _ body: (APIHarness) async throws -> R
    ) async throws -> R {
        let harness = try await APIHarness(config: config, events: events, serverExtra: serverExtra, apiExtra: apiExtra)
        do {
            let result = try await body(harness)
            await harness.stop()
            return result
        } catch {
            await harness.stop()
            throw error
        }
    }

    func stop() async {
        await api.shutdown()
        await ws.stop()
    }

    /// An HTTP answer: status and body.
    struct Answer: Sendable {
        let status: Int
        let text: String
        var json: JSONValue? { try? JSONReader.parse(Array(text.utf8)) }
        /// `result` of a 200 answer.
        var result: JSONValue? { json?["result"] }
        /// `error.code` of a 200 answer.
        var errorCode: Int? {
            guard case .number(let text)? = json?["error"]?["code"] else { return nil }
            return Int(text)
        }
        var errorMessage: String? {
            guard case .string(let text)? = json?["error"]?["message"] else { return nil }
            return text
        }
    }

    /// `POST /api/<method>` with `body` and the key (nil = no header).
    func call(_ method: String, _ body: String = "{}", key: String? = APIHarness.key, headers: [(String, String)] = [])
        async throws -> Answer
    {
        try await request(.POST, "/api/\(method)", body: Array(body.utf8), headers: key.map { [("X-API-Key", $0)] + headers } ?? headers)
    }

    /// Any request to the API listener.
    func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(apiPort)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return Answer(status: Int(response.status.code), text: String(buffer: bytes))
    }
}
