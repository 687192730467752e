import AsyncHTTPClient
import Crypto
import Foundation
import GoDispatchCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Plugins' HTTP callouts (`http_request`, ABI 1.1) on async-http-client: the timeout is enforced per
/// attempt, connection errors, timeouts and 5xx answers are retried with exponential backoff and jitter,
/// requests can be signed, and every final failure is logged and counted — never dropped silently.
public final class AsyncHTTPCallout: HTTPCallout, Sendable {
    private let client: HTTPClient
    private let logger: Logger
    private let failureCount = Atomic<Int>(0)
    /// The largest response body read.
    public static let maxResponseBytes = 1 << 20

    /// Uses `group` for the client's connections.
    public init(group: any EventLoopGroup, logger: Logger) {
        client = HTTPClient(eventLoopGroupProvider: .shared(group))
        self.logger = logger
    }

    /// Requests that failed after all their attempts.
    public var failures: Int { failureCount.load(ordering: .relaxed) }

    /// Closes the client's connections.
    public func shutdown() async { try? await client.shutdown() }

    public func send(
        _ request: HTTPCalloutRequest, completion: @escaping @Sendable (Result<HTTPCalloutResponse, HTTPCalloutError>) -> Void
    ) {
        Task { completion(await perform(request)) }
    }

    private func perform(_ request: HTTPCalloutRequest) async -> Result<HTTPCalloutResponse, HTTPCalloutError> {
        var delay = request.backoff
        var lastError = "no attempt made"
        var timedOut = false
        for attempt in 1...max(1, request.maxAttempts) {
            timedOut = false
            do {
                let response = try await client.execute(
                    Self.prepare(request), timeout: .nanoseconds(request.timeout.nanoseconds), logger: logger)
                let body = try await response.body.collect(upTo: Self.maxResponseBytes)
                let status = Int(response.status.code)
                if status >= 500, attempt < request.maxAttempts {
                    lastError = "answered \(status)"
                } else {
                    if status >= 400 {
                        logger.notice("http callout answered \(status)", metadata: ["url": "\(request.url)"])
                    }
                    return .success(HTTPCalloutResponse(status: status, body: Array(body.readableBytesView)))
                }
            } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
                lastError = "timed out after \(request.timeout)"
                timedOut = true
            } catch {
                lastError = "\(error)"
            }
            guard attempt < request.maxAttempts else { break }
            logger.info(
                "http callout failed, retrying",
                metadata: ["url": "\(request.url)", "attempt": "\(attempt)", "reason": "\(lastError)"])
            let jitter = Double.random(in: 0...0.5)
            try? await Task.sleep(for: delay + delay * jitter)
            delay *= 2
        }
        failureCount.add(1, ordering: .relaxed)
        logger.warning(
            "http callout failed", metadata: ["url": "\(request.url)", "attempts": "\(request.maxAttempts)", "reason": "\(lastError)"])
        return .failure(HTTPCalloutError(message: lastError, timedOut: timedOut))
    }

    /// Builds the AsyncHTTPClient request, signing it when asked.
    static func prepare(_ request: HTTPCalloutRequest) -> HTTPClientRequest {
        var prepared = HTTPClientRequest(url: request.url)
        prepared.method = HTTPMethod(rawValue: request.method)
        for header in request.headers { prepared.headers.add(name: header.name, value: header.value) }
        if let secret = request.signingSecret {
            let timestamp = String(Int(Date().timeIntervalSince1970))
            prepared.headers.replaceOrAdd(name: "X-GoDispatch-Timestamp", value: timestamp)
            prepared.headers.replaceOrAdd(
                name: "X-GoDispatch-Signature", value: "sha256=" + signature(secret: secret, timestamp: timestamp, body: request.body))
        }
        prepared.body = .bytes(ByteBuffer(bytes: request.body))
        return prepared
    }

    /// Hex HMAC-SHA256 of `"<timestamp>." + body`.
    public static func signature(secret: [UInt8], timestamp: String, body: [UInt8]) -> String {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: secret))
        mac.update(data: Array(timestamp.utf8) + [UInt8(ascii: ".")])
        mac.update(data: body)
        return mac.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
