import CGoDispatchABI

/// One call of an action: what a `gd_call *` handle names while `invoke` runs.
///
/// Confined to the run's executor. Host functions find it through ``CallHandles`` and answer
/// GD_ERR_STALE once `invoke` has returned.
final class ActionInvocation {
    let run: PipelineRun
    let step: CompiledStep
    /// What the action may do, in Swift terms.
    let context: ActionContext
    /// Resolved params and values handed out by `cargo`; freed when the invocation ends.
    let arena = ByteArena(chunkSize: 512)
    let params: UnsafeMutableBufferPointer<gd_param>
    /// Set by `set_result`.
    var result: [UInt8]?
    /// Set by `defer`.
    var ticket: gd_ticket = 0
    /// What the broker finishes after `invoke` returns (nil with the memory broker).
    let wait: BrokerWait?

    init(run: PipelineRun, step: CompiledStep) {
        self.run = run
        self.step = step
        let wait = run.services.broker.isClustered ? BrokerWait() : nil
        self.wait = wait
        self.context = ActionContext(
            origin: run.cargo.origin, services: run.services, ref: run.cargo.origin == nil ? nil : run.cargo.message.idJSON,
            wait: wait)
        params = arena.allocate(gd_param.self, count: max(step.params.count, 1))
        for (index, param) in step.params.enumerated() {
            let value = param.literal ?? run.cargo.cValue(of: param.template, in: arena)
            params.initializeElement(at: index, to: gd_param(name: param.cName, value: value, flags: 0))
        }
    }

    /// The resolved params as JSON text (nil = missing), for observers.
    var describedParams: [(name: String, value: String?)] {
        step.params.indices.map { index in
            let value = params[index].value
            let text = String(decoding: value.text.raw, as: UTF8.self)
            switch value.kind {
            case Int32(GD_VALUE_STRING.rawValue):
                var writer = JSONWriter()
                writer.writeString(text)
                return (step.params[index].name, String(decoding: writer.bytes, as: UTF8.self))
            case Int32(GD_VALUE_JSON.rawValue): return (step.params[index].name, text)
            default: return (step.params[index].name, nil)
            }
        }
    }

    /// Defers the invocation: registers a ticket that keeps the step alive until it settles.
    func deferCompletion() -> gd_ticket {
        guard ticket == 0 else { return 0 }
        ticket = PendingCompletions.shared.register(run, step: step, executor: run.executor)
        return ticket
    }
}
