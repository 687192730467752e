import ArgumentParser
import AsyncHTTPClient
import Foundation
import GoDispatchCore
import NIOCore

/// `godispatch api METHOD [JSON]`: posts one call to a running server's API and prints the reply.
/// Exit status: 0 for a result, 1 for an API error (or a 401/413), 2 when the server cannot be reached.
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api", abstract: "Call a method of a running server's backend API and print the reply.",
        discussion: """
            Examples:
              godispatch api publish '{"room":"lobby","event":"news","payload":{"text":"hi"}}' --key $GODISPATCH_API_KEY
              godispatch api info --url http://127.0.0.1:9000
            Exit status: 0 on a result, 1 on an API error, 2 when the server cannot be reached.
            """)

    @Argument(help: "The method: publish, broadcast, notify_user, join, leave, disconnect, set_permissions, emit, info, rooms, batch.")
    var method: String

    @Argument(help: "The request body, a JSON object (default {}); - reads it from standard input.")
    var json: String = "{}"

    @Option(name: .long, help: "The API's base URL (its /api is added when missing).")
    var url: String = "http://127.0.0.1:9000"

    @Option(name: .long, help: "The API key (default: $GODISPATCH_API_KEY).")
    var key: String?

    @Option(name: .long, help: "Seconds to wait for the reply.")
    var timeout: Int = 30

    func run() async throws {
        guard let key = key ?? ProcessInfo.processInfo.environment["GODISPATCH_API_KEY"], !key.isEmpty else {
            Defaults.printErrors("no API key: pass --key KEY or set GODISPATCH_API_KEY")
            throw ExitCode(2)
        }
        let body = json == "-" ? FileHandle.standardInput.readDataToEndOfFile() : Data(json.utf8)
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        if !base.hasSuffix("/api") { base += "/api" }
        var request = HTTPClientRequest(url: "\(base)/\(method)")
        request.method = .POST
        request.headers.add(name: "X-API-Key", value: key)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let status: Int
        let text: String
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(Int64(timeout)))
            status = Int(response.status.code)
            let bytes = try await response.body.collect(upTo: 64 << 20)
            text = String(buffer: bytes)
        } catch {
            Defaults.printErrors("cannot reach the API at \(base)/\(method): \(error)")
            throw ExitCode(2)
        }
        print(text)
        guard status == 200 else {
            Defaults.printErrors("HTTP \(status)")
            throw ExitCode(1)
        }
        // A result (or a batch's replies) succeeds; an error object fails.
        if (try? JSONReader.parse(Array(text.utf8)))?["error"] != nil { throw ExitCode(1) }
    }
}
