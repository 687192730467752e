import CGoDispatchABI
import Logging

/// Runs one message through its event's steps, on the sending connection's executor.
///
/// Steps run in order. A step that returns PENDING parks the run until the plugin calls `complete`
/// (hopped back onto the executor) or the step's timeout fires, whichever comes first.
final class PipelineRun: @unchecked Sendable {
    let event: CompiledEvent
    let services: EngineServices
    private(set) var cargo: Cargo
    private var nextStep = 0
    private var pendingTimeout: (any ScheduledWork)?
    private var pendingTicket: gd_ticket = 0
    private let onFinish: @Sendable (PipelineOutcome) -> Void

    init(
        event: CompiledEvent, message: InboundMessage, connection: Connection, services: EngineServices,
        close: (code: UInt16, reason: String)? = nil, onFinish: @escaping @Sendable (PipelineOutcome) -> Void
    ) {
        self.event = event
        self.services = services
        self.cargo = Cargo(message: message, connection: connection)
        self.cargo.close = close
        self.onFinish = onFinish
    }

    /// Runs steps until the pipeline ends or a step is pending.
    func start() {
        while nextStep < event.steps.count {
            let step = event.steps[nextStep]
            if let condition = step.condition, !condition.evaluate(cargo) {
                services.observer?.stepSkipped(index: nextStep, action: step.action.name, condition: step.conditionSource ?? "")
                services.logger.debug(
                    "step skipped: `when` is false",
                    metadata: ["event": "\(event.name)", "action": "\(step.action.name)", "step": "\(nextStep)"])
                nextStep += 1
                continue
            }
            let invocation = ActionInvocation(run: self, step: step)
            if let observer = services.observer {
                observer.stepStarting(index: nextStep, action: step.action.name, params: invocation.describedParams)
            }
            var error = gd_error()
            error.size = UInt32(MemoryLayout<gd_error>.size)
            let descriptor = step.action.descriptor.pointee
            let status = descriptor.invoke(descriptor.action_data, step.stepState, invocation.handle, &error)
            invocation.isActive = false
            switch status {
            case GD_OK.rawValue:
                if invocation.ticket != 0 { PendingCompletions.shared.cancel(invocation.ticket) }
                services.observer?.stepFinished(
                    index: nextStep, action: step.action.name, status: status,
                    detail: invocation.result.map { String(decoding: $0, as: UTF8.self) })
                record(invocation.result, of: step)
                nextStep += 1
            case GD_PENDING.rawValue:
                guard invocation.ticket != 0 else {
                    return fail(step, status: GD_ERR_FAILED.rawValue, message: "returned PENDING without calling defer()")
                }
                park(invocation.ticket, step: step)
                return
            default:
                if invocation.ticket != 0 { PendingCompletions.shared.cancel(invocation.ticket) }
                let message = error.len > 0 ? error.text : "failed with status \(status)"
                services.observer?.stepFinished(index: nextStep, action: step.action.name, status: status, detail: message)
                return fail(step, status: status, message: message)
            }
        }
        services.observer?.pipelineFinished(.completed)
        onFinish(.completed)
    }

    private func park(_ ticket: gd_ticket, step: CompiledStep) {
        pendingTicket = ticket
        let executor = cargo.connection.transport.executor
        pendingTimeout = executor.schedule(after: step.timeout) { [self] in
            guard PendingCompletions.shared.take(ticket) != nil else { return }
            services.logger.warning(
                "step timed out",
                metadata: ["action": "\(step.action.name)", "event": "\(event.name)", "timeout": "\(step.timeout)"])
            fail(step, status: GD_ERR_FAILED.rawValue, message: "timed out after \(step.timeout)")
        }
    }

    /// Continues after `complete`; runs on the connection's executor.
    func resume(ticket: gd_ticket, status: Int32, result: [UInt8]?, message: String) {
        guard ticket == pendingTicket else { return }
        pendingTicket = 0
        pendingTimeout?.cancel()
        pendingTimeout = nil
        let step = event.steps[nextStep]
        services.observer?.stepFinished(
            index: nextStep, action: step.action.name, status: status,
            detail: status == GD_OK.rawValue ? result.map { String(decoding: $0, as: UTF8.self) } : message)
        guard status == GD_OK.rawValue else { return fail(step, status: status, message: message) }
        record(result, of: step)
        nextStep += 1
        start()
    }

    private func record(_ result: [UInt8]?, of step: CompiledStep) {
        if let id = step.id, let result { cargo.stepResults[id] = result }
    }

    private func fail(_ step: CompiledStep, status: Int32, message: String) {
        let code: ErrorCode = status == GD_ERR_FORBIDDEN.rawValue ? .forbidden : .actionFailed
        let text = code == .forbidden ? message : "\(step.action.name): \(message)"
        services.logger.debug(
            "pipeline stopped", metadata: ["event": "\(event.name)", "action": "\(step.action.name)", "reason": "\(message)"])
        let ref = cargo.message.idJSON.map(Array.init)
        cargo.connection.transport.send(FrameEncoder.error(code, text, ref: ref))
        services.observer?.pipelineFinished(.failed(code: code, message: text))
        onFinish(.failed(code: code, message: text))
    }
}
