/// Server events for the backend API (`POST /api/emit`): run a `server_events:` pipeline with no
/// origin connection and hand its outcome back.
extension Engine {
    /// Runs the `server_events:` pipeline named `event` and calls `completion` with how it ended,
    /// exactly once, on `executor`.
    ///
    /// `target` and `payloadJSON` (one JSON value; nil = no payload) are what its templates read as
    /// `{{target}}` and `{{payload…}}`. The payload is checked against the event's `payload_schema`
    /// before any step runs. Steps run in order on `executor` (pass the event loop the API request
    /// arrived on, wrapped as a ``ConnectionExecutor``); a pending step does not block it. Frames the
    /// steps send carry no `from`: only a verified user can be a sender. A failing step sends no error
    /// frame to anyone: its outcome goes to `completion`.
    public func emit(
        _ event: String, target: String?, payloadJSON: [UInt8]?, on executor: any ConnectionExecutor,
        completion: @escaping @Sendable (EmitOutcome) -> Void
    ) {
        router.emit(event, target: target, payloadJSON: payloadJSON, on: executor, completion: completion)
    }

    /// Runs the `server_events:` pipeline named `event` on `executor` and returns how it ended; see
    /// ``emit(_:target:payloadJSON:on:completion:)``.
    public func emit(
        _ event: String, target: String? = nil, payloadJSON: [UInt8]? = nil, on executor: any ConnectionExecutor
    ) async -> EmitOutcome {
        await withCheckedContinuation { continuation in
            emit(event, target: target, payloadJSON: payloadJSON, on: executor) { continuation.resume(returning: $0) }
        }
    }
}
