import CGoDispatchABI
import Logging

/// Runs one message through its event's steps, on the sending connection's executor (or, for a
/// server event, which has no sending connection, on the executor it was emitted on).
///
/// The step rules live in ``PipelineRunMachine``; this class carries them out: it checks each step's
/// `when:`, invokes the action through the C ABI, parks on a pending step until `complete` (hopped back
/// onto the executor) or the step's timeout, and reports errors to the sender (a server event has none:
/// its outcome goes to ``trace`` and `onFinish` only). A run whose connection closed stops at its next
/// step (except `lifecycle.disconnect`, which is meant to run on).
///
/// Confined to ``executor``: every method runs there.
final class PipelineRun: @unchecked Sendable {
    let event: CompiledEvent
    let services: EngineServices
    private(set) var cargo: Cargo
    /// Where the run's steps execute and resume.
    let executor: any ConnectionExecutor
    /// Each step's result, for a server event's caller; nil for client messages (nothing recorded).
    let trace: StepTrace?
    private var machine: PipelineRunMachine
    private var pendingTimeout: (any ScheduledWork)?
    private let onFinish: @Sendable (PipelineOutcome) -> Void

    /// A run for `connection`'s message, on its executor.
    convenience init(
        event: CompiledEvent, message: InboundMessage, connection: Connection, services: EngineServices,
        close: (code: UInt16, reason: String)? = nil, onFinish: @escaping @Sendable (PipelineOutcome) -> Void
    ) {
        self.init(
            event: event, message: message, origin: connection, executor: connection.transport.executor,
            services: services, close: close, trace: nil, onFinish: onFinish)
    }

    /// A run with an explicit executor; `origin` is nil for a server event.
    init(
        event: CompiledEvent, message: InboundMessage, origin: Connection?, executor: any ConnectionExecutor,
        services: EngineServices, close: (code: UInt16, reason: String)? = nil, trace: StepTrace?,
        onFinish: @escaping @Sendable (PipelineOutcome) -> Void
    ) {
        self.event = event
        self.services = services
        self.executor = executor
        self.trace = trace
        self.cargo = Cargo(message: message, origin: origin)
        self.cargo.close = close
        // With no origin there is no connection to outlive: nothing can abandon the run.
        self.machine = PipelineRunMachine(stepCount: event.steps.count, outlivesConnection: close != nil || origin == nil)
        self.onFinish = onFinish
    }

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
        if action == .proceed { record(result, of: step, at: index) }
        carryOut(action)
    }

    /// Does what the machine said, asking it again until the run ends or waits.
    private func carryOut(_ first: PipelineRunMachine.Action) {
        var action = first
        while true {
            switch action {
            case .proceed:
                action = machine.next(connectionOpen: !(cargo.origin?.isClosed ?? false))
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
                fail(at: index, status: status, message: message)
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
            trace?.skipped(index, step)
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
        var status = descriptor.invoke(descriptor.action_data, step.stepState, handle, &error)
        CallHandles.release(handle)
        if status != GD_PENDING.rawValue, invocation.ticket != 0 {
            PendingCompletions.shared.cancel(invocation.ticket)
            invocation.ticket = 0
        }
        // Spelled out only for a failure: a success allocates no text.
        var message = ""
        if status != GD_OK.rawValue, status != GD_PENDING.rawValue {
            message = error.len > 0 ? error.text : "failed with status \(status)"
        }
        if status == GD_OK.rawValue, let wait = invocation.wait {
            (status, message) = awaitBroker(wait, of: invocation)
        }
        if status != GD_PENDING.rawValue {
            services.observer?.stepFinished(
                index: index, action: step.action.name, status: status,
                detail: status == GD_OK.rawValue ? invocation.result.map { String(decoding: $0, as: UTF8.self) } : message)
        }
        let action = machine.invoked(status: status, ticket: invocation.ticket, message: message)
        if action == .proceed { record(invocation.result, of: step, at: index) }
        return action
    }

    /// A step whose action succeeded but left broker operations under way (other nodes' share of a
    /// publish or a command) parks on a ticket the engine settles when they end: GD_PENDING. One whose
    /// broker operations already ended keeps GD_OK, or fails with the broker's error.
    private func awaitBroker(_ wait: BrokerWait, of invocation: ActionInvocation) -> (Int32, String) {
        guard wait.isPending else {
            guard let failure = wait.failure else { return (GD_OK.rawValue, "") }
            return (Self.status(of: failure), failure.description)
        }
        let ticket = invocation.deferCompletion()
        let result = invocation.result
        wait.whenSettled { failure in
            PendingCompletions.shared.resume(
                ticket, status: failure.map(Self.status(of:)) ?? GD_OK.rawValue, result: failure == nil ? result : nil,
                message: failure?.description ?? "")
        }
        return (GD_PENDING.rawValue, "")
    }

    /// The status a broker failure gives its step.
    private static func status(of failure: BrokerError) -> Int32 {
        if case .notFound = failure { return GD_ERR_NOT_FOUND.rawValue }
        return GD_ERR_FAILED.rawValue
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

    private func record(_ result: [UInt8]?, of step: CompiledStep, at index: Int) {
        if let id = step.id, let result { cargo.stepResults[id] = result }
        trace?.ran(index, step, result: result)
    }

    private func fail(at index: Int, status: Int32, message: String) {
        let step = event.steps[index]
        step.failures?.increment()
        let code: ErrorCode =
            switch status {
            case GD_ERR_FORBIDDEN.rawValue: .forbidden
            case GD_ERR_ROOM_FULL.rawValue: .roomFull
            default: .actionFailed
            }
        let text = code == .actionFailed ? "\(step.action.name): \(message)" : message
        services.logger.debug(
            "pipeline stopped", metadata: ["event": "\(event.name)", "action": "\(step.action.name)", "reason": "\(message)"])
        trace?.failed(index, step, code: code, message: text)
        // A server event has nobody to send an error frame to: its caller gets the outcome.
        if let origin = cargo.origin {
            let ref = cargo.message.idJSON.map(Array.init)
            origin.transport.send(FrameEncoder.error(code, text, ref: ref))
        }
        services.observer?.pipelineFinished(.failed(code: code, message: text))
        onFinish(.failed(code: code, message: text))
    }
}
