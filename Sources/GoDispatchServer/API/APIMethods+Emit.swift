import GoDispatchCore
import NIOCore

/// `emit`: the backend speaks in events too. Runs the `server_events.<event>` pipeline with no origin
/// connection and answers the steps' results, or why it stopped.
extension APIMethods {
    func emit(_ body: APIRequestBody, on eventLoop: any EventLoop) throws(APIError) -> EventLoopFuture<APIReply> {
        let event = try body.string("event")
        let target = try body.optionalString("target")
        let payload = body.rawJSON("payload", "data").map(Array.init)
        let promise = eventLoop.makePromise(of: APIReply.self)
        engine.emit(event, target: target, payloadJSON: payload, on: EventLoopExecutor(eventLoop: eventLoop)) { outcome in
            promise.succeed(Self.reply(to: outcome))
        }
        return promise.futureResult
    }

    /// The answer for an emit's outcome: `{"steps":[…]}`, or an error naming the step or the field.
    static func reply(to outcome: EmitOutcome) -> APIReply {
        switch outcome {
        case .unknownEvent:
            return .error(APIError(.notFound, outcome.description, reason: ErrorCode.unknownEvent.rawValue))
        case .invalidPayload:
            return .error(APIError(.badRequest, outcome.description, reason: ErrorCode.invalidPayload.rawValue))
        case .completed(let steps):
            var writer = JSONWriter()
            writer.writeASCII("{\"steps\":")
            write(steps, to: &writer)
            writer.writeASCII("}")
            return .result(writer.bytes)
        case .failed(let failure):
            let code: APIError.Code = failure.code == .forbidden ? .permissionDenied : .internalError
            return .error(APIError(code, outcome.description, reason: failure.code.rawValue))
        }
    }

    /// `[{"index":0,"action":"_notify_user","id":"dm","result":{…}}, {"index":1,"action":"_log","skipped":true}]`.
    private static func write(_ steps: [EmitStepResult], to writer: inout JSONWriter) {
        writer.writeASCII("[")
        for (position, step) in steps.enumerated() {
            if position > 0 { writer.writeASCII(",") }
            writer.writeASCII("{\"index\":")
            writer.writeRaw(Array(String(step.index).utf8))
            writer.writeASCII(",\"action\":")
            writer.writeString(step.action)
            if let id = step.id {
                writer.writeASCII(",\"id\":")
                writer.writeString(id)
            }
            if step.skipped {
                writer.writeASCII(",\"skipped\":true")
            } else if let result = step.resultJSON {
                writer.writeASCII(",\"result\":")
                writer.writeRaw(result)
            }
            writer.writeASCII("}")
        }
        writer.writeASCII("]")
    }
}
