import ArgumentParser
import Foundation
import GoDispatchClient
import NIOCore
import NIOPosix
import Synchronization

/// `godispatch connect`: a line-based WebSocket client — each stdin line is sent as a message, each
/// message received is printed. Enough to try a server by hand without installing anything.
/// Exit status: 0 when the user ends the input and the close is normal (1000/1001), 1 when the handshake
/// is refused, 2 when the server cannot be reached, 3 when the server closes (or the connection drops).
struct ConnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect", abstract: "Connect to a server; send stdin lines, print what arrives.",
        discussion: """
            Each line of standard input is sent as one text message; each message
            received is printed on a line of its own, the server's close as
            <closed CODE REASON>. End the input (Ctrl-D) to close with 1000.

            Exit status:
              0  you ended the input and the close was normal (1000 or 1001)
              1  the server refused the handshake (HTTP 401, 429, ...)
              2  the server cannot be reached (not running, wrong host or port,
                 not a WebSocket listener)
              3  the server closed the connection itself (e.g. 4003, or 1001 as
                 it shuts down), or the connection dropped without a close
            """)

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
            Defaults.printErrors("refused: HTTP \(status)" + (body.isEmpty ? "" : " \(body)"))
            throw ExitCode(1)
        } catch {
            Defaults.printErrors("cannot connect to \(url): \(Self.explain(error, host: host))")
            throw ExitCode(2)
        }
        Defaults.printErrors("connected to \(url); type JSON messages, one per line")
        let ended = EndOfInput()
        let printer = Task { () -> (code: UInt16?, reason: String)? in
            var close: (code: UInt16?, reason: String)?
            for await event in client.events {
                switch event {
                case .text(let text): FileHandle.standardOutput.write(Data((text + "\n").utf8))
                case .binary(let bytes): print("<binary \(bytes.count) bytes>")
                case .close(let code, let reason):
                    close = (code, reason)
                    print("<closed \(Self.describe(code: code, reason: reason))>")
                case .disconnected: return close
                }
            }
            return close
        }
        let reader = Task.detached {
            while let line = readLine() {
                if !line.isEmpty { try? await client.send(text: line) }
            }
            ended.set()  // before the close frame leaves, so its echo counts as asked for
            try? await client.close()
        }
        let close = await printer.value
        reader.cancel()
        switch close {
        case (let code?, _)? where ended.isSet && (code == 1000 || code == 1001):
            return
        case let (code, reason)?:
            Defaults.printErrors("the server closed the connection (\(Self.describe(code: code, reason: reason)))")
        case nil:
            Defaults.printErrors("the connection dropped without a close frame")
        }
        throw ExitCode(3)
    }

    /// `4003 forbidden`, `1000` (no trailing space for an empty reason), `-` for a close without a code.
    static func describe(code: UInt16?, reason: String) -> String {
        (code.map(String.init) ?? "-") + (reason.isEmpty ? "" : " \(reason)")
    }

    /// What a failed connection attempt means, in words a user can act on.
    static func explain(_ error: any Error, host: String) -> String {
        let errors: [any Error]
        if let failure = error as? NIOConnectionError {
            if failure.connectionErrors.isEmpty, failure.dnsAError != nil || failure.dnsAAAAError != nil {
                return "cannot resolve the host \(host); check --url"
            }
            errors = failure.connectionErrors.map(\.error)
        } else {
            errors = [error]
        }
        if errors.contains(where: { ($0 as? IOError)?.errnoCode == ECONNREFUSED }) {
            return "connection refused — is the server running? (`make run`)"
        }
        if errors.contains(where: { if case .connectTimeout? = $0 as? ChannelError { true } else { false } }) {
            return "timed out — check the host and port in --url, and that a firewall lets them through"
        }
        if let error = error as? WebSocketClientError, error == .malformedResponse {
            return "no WebSocket handshake answer — is this the server's `server.listen` address and `server.path`?"
        }
        return "\(error)"
    }
}

/// Set once standard input has ended (the user asked to close), read from any task.
private final class EndOfInput: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
