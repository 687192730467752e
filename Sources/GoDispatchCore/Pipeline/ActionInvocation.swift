import CGoDispatchABI

/// One call of an action: what `gd_call *` points to while `invoke` runs.
///
/// Confined to the connection's executor. Host functions reach it through the opaque pointer and
/// refuse it (GD_ERR_STALE) once `invoke` has returned.
final class ActionInvocation {
    let run: PipelineRun
    let step: CompiledStep
    /// Resolved params and values handed out by `cargo`; freed when the invocation ends.
    let arena = ByteArena(chunkSize: 512)
    let params: UnsafeMutableBufferPointer<gd_param>
    /// True only while `invoke` runs.
    var isActive = true
    /// Set by `set_result`.
    var result: [UInt8]?
    /// Set by `defer`.
    var ticket: gd_ticket = 0

    init(run: PipelineRun, step: CompiledStep) {
        self.run = run
        self.step = step
        params = .allocate(capacity: max(step.params.count, 1))
        for (index, param) in step.params.enumerated() {
            let value = param.literal ?? run.cargo.evaluate(param.template).cValue(in: arena)
            params[index] = gd_param(name: param.cName, value: value, flags: 0)
        }
    }

    deinit { params.deallocate() }

    /// The opaque handle plugins receive.
    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// The invocation behind a handle, if it is still running.
    static func active(_ handle: OpaquePointer?) -> ActionInvocation? {
        guard let handle else { return nil }
        let invocation = Unmanaged<ActionInvocation>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
        return invocation.isActive ? invocation : nil
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

    /// The sender's user id, written as `from` in frames this step sends.
    var origin: Connection { run.cargo.connection }
}
