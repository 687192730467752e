import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

/// An HTTP client that answers only when the test says so.
final class HeldCallout: HTTPCallout {
    private let waiting = Locked<[@Sendable (Result<HTTPCalloutResponse, HTTPCalloutError>) -> Void]>([])

    func send(_ request: HTTPCalloutRequest, completion: @escaping @Sendable (Result<HTTPCalloutResponse, HTTPCalloutError>) -> Void) {
        waiting.withLock { $0.append(completion) }
    }

    /// Answers every request held so far with 200.
    func answerAll() {
        for completion in waiting.withLock({ list in defer { list = [] }; return list }) {
            completion(.success(HTTPCalloutResponse(status: 200, body: [])))
        }
    }
}

@Suite("HTTP callouts are bounded")
struct HTTPCalloutGateTests {
    static let request = HTTPCalloutRequest(
        method: "POST", url: "http://127.0.0.1:9/hook", headers: [], body: [], timeout: .seconds(1), maxAttempts: 1,
        backoff: .milliseconds(10), signingSecret: nil)

    @Test func pastTheCapACalloutFailsAtOnceAndIsCounted() async throws {
        let client = HeldCallout()
        let gate = HTTPCalloutGate()
        gate.configure(client: client, maxInFlight: 2, logger: quietLogger)
        let outcomes = Mailbox<Result<HTTPCalloutResponse, HTTPCalloutError>>()
        for _ in 0..<3 { gate.send(Self.request) { outcomes.put($0) } }
        // The third failed at once, without reaching the client.
        guard case .failure(let error)? = await outcomes.take() else {
            Issue.record("the third callout went through")
            return
        }
        #expect(error.message == "too many HTTP callouts in flight (plugins.http.max_in_flight = 2)")
        #expect(gate.inFlight == 2 && gate.refused == 1)
        client.answerAll()
        for _ in 0..<2 { if case .failure? = await outcomes.take() { Issue.record("an admitted callout failed") } }
        #expect(gate.inFlight == 0)
        gate.send(Self.request) { outcomes.put($0) }
        #expect(gate.inFlight == 1, "room again once the others finished")
        client.answerAll()
        _ = await outcomes.take()
    }

    @Test func drainWaitsForTheCalloutsUnderWay() async throws {
        let client = HeldCallout()
        let gate = HTTPCalloutGate()
        gate.configure(client: client, maxInFlight: 8, logger: quietLogger)
        gate.send(Self.request) { _ in }
        let drained = Task { await gate.drain(timeout: .seconds(30)) }
        try await eventually { gate.inFlight == 1 }
        client.answerAll()
        #expect(await drained.value == 0)
        gate.send(Self.request) { _ in }
        #expect(await gate.drain(timeout: .milliseconds(50)) == 1, "a drain that times out says how many are left")
        client.answerAll()
    }

    @Test func withoutAClientACalloutFails() async {
        let gate = HTTPCalloutGate()
        let outcome = Mailbox<Bool>()
        gate.send(Self.request) { result in outcome.put((try? result.get()) == nil) }
        #expect(await outcome.take() == true)
    }
}
