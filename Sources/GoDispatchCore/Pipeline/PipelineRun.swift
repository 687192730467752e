import CGoDispatchABI
import Logging

/// Runs one message through its event's steps, on the sending connection's executor.
///
/// The step rules live in ``PipelineRunMachine``; this class carries them out: it checks each step's
/// `when:`, invokes the action through the C ABI, parks on a pending step until `complete` (hopped back
/// onto the executor) or the step's timeout, and reports errors to the sender. A run whose connection
/// closed stops at its next step (except `lifecycle.disconnect`, which is meant to run on).
///
/// Confined to the connection's executor: every method runs there.
final class PipelineRun: @unchecked Sendable {
    let event: CompiledEvent
    let services: EngineServices
    private(set) var cargo: Cargo
    private var machine: PipelineRunMachine
    private var pendingTimeout: (any ScheduledWork)?
    private let onFinish: @Sendable (PipelineOutcome) -> Void

    init(
        event: CompiledEvent, message: InboundMessage, connection: Connection, services: EngineServices,
        close: (code: UInt16, reason: String)? = nil, onFinish: @escaping @Sendable (PipelineOutcome) -> Void
    ) {
        self.event = event
        self.services = services
        self.cargo = Cargo(message: message, connection: connection)
        self.cargo.close = close
        self.machine = PipelineRunMachine(stepCount: event.steps.count, outlivesConnection: close != nil)
        self.onFinish = onFinish
    }

    /// The connection's executor.
    var executor: any ConnectionExecutor { cargo.connection.transport.executor }

    /// Runs steps until the pipeline ends or a step is pending.
    func start() { carryOut(.proceed) }

    /// Continues after `complete`; runs on the connection's executor.
    func resume(ticket: gd_ticket, status: Int32, result: [UInt8]?, message: String) {
        guard case .waiting(let index, _) = machine.state else { return }
        let action = machine.completed(ticket: ticket, status: status, message: message)
        guard action != .ignore else { return }
        pendingTimeout?.cancel()
        pendingTimeout = nil
        let step = event.steps[index]
        services.observer?.stepFinished(
            index: index, action: step.action.name, status: status,
            detail: status == GD_OK.rawValue ? result.map { String(decoding: $0, as: UTF8.self) } : message)
        if action == .proceed { record(result, of: step) }
        carryOut(action)
    }

    /// Does what the machine said, asking it again until the run ends or waits.
    private func carryOut(_ first: PipelineRunMachine.Action) {
        var action = first
        while true {
            switch action {
            case .proceed:
                action = machine.next(connectionOpen: !cargo.connection.isClosed)
            case .invoke(let index):
                action = invoke(index)
            case .park(let index, let ticket):
                park(ticket, step: event.steps[index])
                return
            case .complete:
                services.observer?.pipelineFinished(.completed)
                onFinish(.completed)
                return
            case .fail(let index, let status, let message):
                fail(event.steps[index], status: status, message: message)
                return
            case .abandon:
                services.logger.debug("pipeline abandoned: the connection closed", metadata: ["event": "\(event.name)"])
                services.observer?.pipelineFinished(.abandoned)
                onFinish(.abandoned)
                return
            case .ignore:
                return
            }
        }
    }

    /// Checks step `index`'s condition and invokes its action; returns the machine's next action.
    private func invoke(_ index: Int) -> PipelineRunMachine.Action {
        let step = event.steps[index]
        if let condition = step.condition, !condition.evaluate(cargo) {
            services.observer?.stepSkipped(index: index, action: step.action.name, condition: step.conditionSource ?? "")
            services.logger.debug(
                "step skipped: `when` is false",
                metadata: ["event": "\(event.name)", "action": "\(step.action.name)", "step": "\(index)"])
            machine.skipped()
            return .proceed
        }
        let invocation = ActionInvocation(run: self, step: step)
        if let observer = services.observer {
            observer.stepStarting(index: index, action: step.action.name, params: invocation.describedParams)
        }
        var error = gd_error()
        error.size = UInt32(MemoryLayout<gd_error>.size)
        let descriptor = step.action.functions
        let handle = CallHandles.issue(for: invocation)
        let status = descriptor.invoke(descriptor.action_data, step.stepState, handle, &error)
        CallHandles.release(handle)
        if status != GD_PENDING.rawValue, invocation.ticket != 0 { PendingCompletions.shared.cancel(invocation.ticket) }
        let message = error.len > 0 ? error.text : "failed with status \(status)"
        if status != GD_PENDING.rawValue {
            services.observer?.stepFinished(
                index: index, action: step.action.name, status: status,
                detail: status == GD_OK.rawValue ? invocation.result.map { String(decoding: $0, as: UTF8.self) } : message)
        }
        let action = machine.invoked(status: status, ticket: invocation.ticket, message: message)
        if action == .proceed { record(invocation.result, of: step) }
        return action
    }

    /// Parks the run on `ticket`, a deferred completion of `step`, until it settles or times out.
    private func park(_ ticket: gd_ticket, step: CompiledStep) {
        pendingTimeout = executor.schedule(after: step.timeout) { [self] in
            pendingTimeout = nil  // the handle may hold this closure, and the closure this run
            guard PendingCompletions.shared.expire(ticket) else { return }
            services.logger.warning(
                "step timed out",
                metadata: ["action": "\(step.action.name)", "event": "\(event.name)", "timeout": "\(step.timeout)"])
            carryOut(machine.timedOut(ticket: ticket, after: step.timeout))
        }
    }

    private func record(_ result: [UInt8]?, of step: CompiledStep) {
        if let id = step.id, let result { cargo.stepResults[id] = result }
    }

    private func fail(_ step: CompiledStep, status: Int32, message: String) {
        step.failures?.increment()
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
