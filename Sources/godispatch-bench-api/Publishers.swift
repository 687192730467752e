import AsyncHTTPClient
import Foundation
import GoDispatchClient
import NIOCore
import Synchronization

/// How a phase publishes into the room.
enum PublishMode: CustomStringConvertible, Sendable {
    /// `{"event":"publish",…}` frames from one WebSocket client (a member the frames skip), through the YAML pipeline.
    case client
    /// `POST /api/publish`, one publish per request, over keep-alive connections.
    case api
    /// `POST /api/batch` with `size` publishes per request.
    case batch(size: Int)

    var description: String {
        switch self {
        case .client: return "client publish"
        case .api: return "API publish"
        case .batch(let size): return "API batch of \(size)"
        }
    }

    /// Publishes one request carries.
    var publishesPerRequest: Int {
        if case .batch(let size) = self { return size }
        return 1
    }
}

/// Publishes into the room as fast as the members keep up: at most `window` publishes may be on their way
/// (sent and not yet received by every member), so the benchmark measures throughput, not a queue, and
/// every mode gets the same chance to batch its writes.
struct Publisher: Sendable {
    let mode: PublishMode
    let room: String
    let members: RoomMembers
    let window: Int
    let wsPort: Int
    let apiPort: Int
    let apiKey: String
    let publisherToken: String
    /// Keep-alive HTTP connections the API modes use, each with one request at a time.
    let httpConnections: Int

    /// Publishes for `duration`; returns how many publishes were sent.
    func run(for duration: Duration, startingAt first: Int) async throws -> Int {
        let sent = Counter()
        let deadline = ContinuousClock.now + duration
        switch mode {
        case .client:
            let client = try await WebSocketClient.connect(
                host: "127.0.0.1", port: wsPort, path: "/ws", headers: [("Authorization", "Bearer \(publisherToken)")])
            // `_notify_room` sends only for members: the publisher joins (and is left out of its own publishes).
            let joined = Counter()
            let events = client.events
            Task {
                for await event in events {
                    guard case .text(let text) = event else { continue }
                    if text.hasPrefix(#"{"event":"joined""#) { joined.add(1) }
                    if text.hasPrefix(#"{"event":"error""#) { print("publisher: \(text)") }
                }
            }
            try await client.send(text: #"{"event":"join","target":"\#(room)"}"#)
            while joined.value == 0 { try await Task.sleep(for: .milliseconds(10)) }
            while ContinuousClock.now < deadline {
                try await waitForRoom(sent: first + sent.value, batch: 1)
                let seq = first + sent.value
                try await client.send(text: #"{"event":"publish","target":"\#(room)","payload":"# + payload(seq) + "}")
                sent.add(1)
            }
            try? await client.close()
        case .api, .batch:
            let perRequest = mode.publishesPerRequest
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = httpConnections
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let claimed = Counter()
            // Keep-alive connections, each with one request at a time.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<httpConnections {
                    group.addTask {
                        while ContinuousClock.now < deadline {
                            let start = first + claimed.add(perRequest)
                            try await waitForRoom(sent: start, batch: perRequest)
                            try await post(http, start: start, count: perRequest)
                            sent.add(perRequest)
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await http.shutdown()
        }
        return sent.value
    }

    private func payload(_ seq: Int) -> String {
        #"{"seq":\#(seq),"ts":\#(RoomMembers.nanoseconds(since: members.epoch))}"#
    }

    private func publishBody(_ seq: Int) -> String {
        #"{"room":"\#(room)","event":"message","payload":"# + payload(seq) + "}"
    }

    private func post(_ http: HTTPClient, start: Int, count: Int) async throws {
        let method: String
        let body: String
        if case .batch = mode {
            method = "batch"
            body = #"{"commands":["# + (start..<(start + count)).map { #"{"publish":"# + publishBody($0) + "}" }
                .joined(separator: ",") + "]}"
        } else {
            method = "publish"
            body = publishBody(start)
        }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(apiPort)/api/\(method)")
        request.method = .POST
        request.headers.add(name: "X-API-Key", value: apiKey)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(request, timeout: .seconds(60))
        let answer = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok, !String(buffer: answer).contains("\"error\"") else {
            throw BenchError("the API answered \(response.status.code): \(String(buffer: answer))")
        }
    }

    /// Waits until publishing `batch` more, starting at publish `sent`, keeps at most `window` on their way.
    private func waitForRoom(sent: Int, batch: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while sent + batch - members.delivered / members.count > window + batch {
            guard ContinuousClock.now < deadline else { throw BenchError("the members stopped receiving for 60 s (publish \(sent), \(members.delivered) frames received by \(members.count) members)") }
            try await Task.sleep(for: .microseconds(200))
        }
    }
}
