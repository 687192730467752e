import ArgumentParser
import Foundation
import GoDispatchClient

/// `godispatch connect`: a line-based WebSocket client — each stdin line is sent as a message, each
/// message received is printed. Enough to try a server by hand without installing anything.
struct ConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect", abstract: "Connect to a server; send stdin lines, print what arrives.")

    @Option(name: .long, help: "Server address, e.g. ws://127.0.0.1:8080/ws")
    var url: String = "ws://127.0.0.1:8080/ws"

    @Option(name: .long, help: "The JWT (sent as Authorization: Bearer).")
    var token: String

    func run() async throws {
        guard let parsed = URLComponents(string: url), parsed.scheme == "ws", let host = parsed.host else {
            throw ValidationError("--url must look like ws://HOST:PORT/PATH (TLS is for a proxy in front)")
        }
        let path = (parsed.percentEncodedPath.isEmpty ? "/" : parsed.percentEncodedPath)
            + (parsed.percentEncodedQuery.map { "?\($0)" } ?? "")
        let client: WebSocketClient
        do {
            client = try await WebSocketClient.connect(
                host: host, port: parsed.port ?? 80, path: path, headers: [("Authorization", "Bearer \(token)")])
        } catch WebSocketClientError.rejected(let status, let body) {
            FileHandle.standardError.write(Data("refused: HTTP \(status) \(body)\n".utf8))
            throw ExitCode(1)
        }
        FileHandle.standardError.write(Data("connected to \(url); type JSON messages, one per line\n".utf8))
        let printer = Task {
            for await event in client.events {
                switch event {
                case .text(let text): FileHandle.standardOutput.write(Data((text + "\n").utf8))
                case .binary(let bytes): print("<binary \(bytes.count) bytes>")
                case .close(let code, let reason): print("<closed \(code.map(String.init) ?? "-") \(reason)>")
                case .disconnected: return
                }
            }
        }
        let reader = Task.detached {
            while let line = readLine() {
                if !line.isEmpty { try? await client.send(text: line) }
            }
            try? await client.close()
        }
        await printer.value
        reader.cancel()
    }
}
