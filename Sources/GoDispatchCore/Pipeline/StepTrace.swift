/// What each step of one run did, kept for a caller that waits for the whole outcome (a server event's
/// emitter). Client runs have none, so their hot path records nothing.
///
/// Confined to the run's executor (hence unchecked: the run hands it to its `onFinish` there).
final class StepTrace: @unchecked Sendable {
    /// The steps that ran or were skipped, in order.
    private(set) var steps: [EmitStepResult] = []
    /// The step that stopped the run, if one did.
    private(set) var failure: EmitFailure?

    /// Step `index`'s `when:` was false.
    func skipped(_ index: Int, _ step: CompiledStep) {
        steps.append(EmitStepResult(index: index, action: step.action.name, id: step.id, skipped: true, resultJSON: nil))
    }

    /// Step `index` succeeded with `result` (nil = none set).
    func ran(_ index: Int, _ step: CompiledStep, result: [UInt8]?) {
        steps.append(EmitStepResult(index: index, action: step.action.name, id: step.id, skipped: false, resultJSON: result))
    }

    /// Step `index` failed: the run is over.
    func failed(_ index: Int, _ step: CompiledStep, code: ErrorCode, message: String) {
        failure = EmitFailure(
            index: index, action: step.action.name, id: step.id, code: code, message: message, completedSteps: steps)
    }

    /// The outcome for the emitter, once the run reported `outcome`.
    func outcome(_ outcome: PipelineOutcome) -> EmitOutcome {
        switch outcome {
        case .completed:
            return .completed(steps: steps)
        case .failed(let code, let message):
            if let failure { return .failed(failure) }
            return .failed(EmitFailure(index: steps.count, action: "", id: nil, code: code, message: message, completedSteps: steps))
        case .abandoned:
            // A run without an origin has no connection to lose; kept total for the compiler.
            return .failed(
                EmitFailure(
                    index: steps.count, action: "", id: nil, code: .actionFailed, message: "the run was abandoned",
                    completedSteps: steps))
        }
    }
}
