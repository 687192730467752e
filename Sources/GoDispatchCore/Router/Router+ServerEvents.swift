/// Server events: `server_events:` pipelines a backend starts, with no origin connection.
extension Router {
    /// Runs server event `name` on `executor` and reports how it ended through `completion`, called
    /// exactly once, on `executor`. The configuration in force at the call is used throughout (a reload
    /// meanwhile does not change the run). Frames the steps send carry no `from`; a failing step sends
    /// no error frame to anyone: its outcome goes to `completion`.
    func emit(
        _ name: String, target: String?, payloadJSON: [UInt8]?, on executor: any ConnectionExecutor,
        completion: @escaping @Sendable (EmitOutcome) -> Void
    ) {
        let config = self.config
        let services = self.services
        executor.execute {
            guard let event = config.serverEvents[name] else {
                return completion(.unknownEvent(name: name, known: config.serverEvents.keys.sorted()))
            }
            let message: InboundMessage
            switch Self.envelope(event: name, target: target, payloadJSON: payloadJSON, schema: event.schema) {
            case .success(let built): message = built
            case .failure(let refusal): return completion(refusal.outcome)
            }
            let trace = StepTrace()
            let run = PipelineRun(
                event: event, message: message, origin: nil, executor: executor, services: services, trace: trace
            ) { outcome in
                completion(trace.outcome(outcome))
            }
            run.start()
        }
    }

    /// Why an emitted payload was refused before any step ran.
    private struct PayloadRefusal: Error {
        let outcome: EmitOutcome
    }

    /// The envelope a server event's templates read (`event`, `target`, `payload.*`), after checking the
    /// payload is one JSON value that satisfies `schema`.
    private static func envelope(
        event: String, target: String?, payloadJSON: [UInt8]?, schema: PayloadSchema?
    ) -> Result<InboundMessage, PayloadRefusal> {
        var payload = JSONValue.null
        if let payloadJSON {
            do throws(JSONSyntaxError) {
                payload = try JSONReader.parse(payloadJSON)
            } catch {
                return .failure(
                    PayloadRefusal(
                        outcome: .invalidPayload(
                            pointer: "", message: "is not one JSON value: \(error.reason) at byte \(error.offset)")))
            }
        }
        if let schema, let violation = schema.firstViolation(in: payload) {
            return .failure(PayloadRefusal(outcome: .invalidPayload(pointer: violation.pointer, message: violation.message)))
        }
        var writer = JSONWriter(capacity: 48 + event.utf8.count + (target?.utf8.count ?? 0) + (payloadJSON?.count ?? 0))
        writer.writeASCII("{\"event\":")
        writer.writeString(event)
        if let target {
            writer.writeASCII(",\"target\":")
            writer.writeString(target)
        }
        if let payloadJSON {
            writer.writeASCII(",\"payload\":")
            writer.writeRaw(payloadJSON)
        }
        writer.writeASCII("}")
        do throws(EnvelopeError) {
            return .success(try EnvelopeParser.parse(writer.bytes))
        } catch {
            // Only an event name the config reader should have refused gets here.
            return .failure(PayloadRefusal(outcome: .invalidPayload(pointer: "", message: "cannot be routed: \(error.message)")))
        }
    }
}
