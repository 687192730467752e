/// Watches a pipeline step by step (for `godispatch simulate`; nil on the serving path).
public protocol PipelineObserver: Sendable {
    /// A step's `when` was false.
    func stepSkipped(index: Int, action: String, condition: String)
    /// A step is about to run with these resolved params (JSON text, or nil for a missing value).
    func stepStarting(index: Int, action: String, params: [(name: String, value: String?)])
    /// A step ended: `status` is the gd_status, `detail` the error message or the result JSON.
    func stepFinished(index: Int, action: String, status: Int32, detail: String?)
    /// The pipeline ended.
    func pipelineFinished(_ outcome: PipelineOutcome)
}
