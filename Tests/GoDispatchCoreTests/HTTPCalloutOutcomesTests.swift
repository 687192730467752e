import GoDispatchTestSupport
import Testing

@testable import GoDispatchCore

/// An HTTP client that answers every request at once with a fixed result.
private struct FixedCallout: HTTPCallout {
    let result: Result<HTTPCalloutResponse, HTTPCalloutError>

    func send(
        _ request: HTTPCalloutRequest, completion: @escaping @Sendable (Result<HTTPCalloutResponse, HTTPCalloutError>) -> Void
    ) {
        completion(result)
    }
}

@Suite("HTTP callout outcomes are counted at the gate")
struct HTTPCalloutOutcomesTests {
    @Test func everyOutcomeIsCountedOnce() async throws {
        let cases: [(Result<HTTPCalloutResponse, HTTPCalloutError>, HTTPCalloutOutcomes.Outcome)] = [
            (.success(HTTPCalloutResponse(status: 204, body: [])), .ok),
            (.success(HTTPCalloutResponse(status: 302, body: [])), .ok),
            (.success(HTTPCalloutResponse(status: 404, body: [])), .httpError),
            (.success(HTTPCalloutResponse(status: 503, body: [])), .httpError),
            (.failure(HTTPCalloutError(message: "timed out after 1 s", timedOut: true)), .timeout),
            (.failure(HTTPCalloutError(message: "connection refused")), .error),
        ]
        for (result, expected) in cases {
            let gate = HTTPCalloutGate()
            gate.configure(client: FixedCallout(result: result), maxInFlight: 4, logger: quietLogger)
            gate.send(HTTPCalloutGateTests.request) { _ in }
            for outcome in HTTPCalloutOutcomes.Outcome.allCases {
                #expect(gate.outcomes[outcome] == (outcome == expected ? 1 : 0), "\(result) counted as \(outcome)")
            }
        }
    }

    @Test func refusalsAtTheCapAndWithoutAClientCountAsRefused() async throws {
        let gate = HTTPCalloutGate()
        gate.send(HTTPCalloutGateTests.request) { _ in }
        #expect(gate.outcomes[.refused] == 1, "no HTTP client installed")
        let held = HeldCallout()
        gate.configure(client: held, maxInFlight: 1, logger: quietLogger)
        gate.send(HTTPCalloutGateTests.request) { _ in }
        gate.send(HTTPCalloutGateTests.request) { _ in }
        #expect(gate.outcomes[.refused] == 2 && gate.outcomes[.ok] == 0)
        held.answerAll()
        #expect(gate.outcomes[.ok] == 1)
    }
}
