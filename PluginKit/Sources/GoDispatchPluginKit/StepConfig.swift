import CGoDispatchABI

/// A pipeline step as written in the configuration, handed to an action's `instantiate`.
public struct StepConfig {
    /// The event the step belongs to.
    public let event: String
    /// The step's `id`, or an empty string.
    public let stepID: String
    /// The action's name.
    public let action: String
    /// Where the step is written, `file:line:column`.
    public let location: String
    /// Static parameters by name; a templated value holds its template source.
    public let params: [String: PluginValue]
    /// Names of the parameters whose value is a template, known only per message.
    public let templated: Set<String>
    /// `plugins.settings.<this plugin>` as JSON text, when the engine passes it (ABI 1.1).
    public let pluginSettings: String?

    init(_ raw: UnsafePointer<gd_step_config>) {
        let config = raw.pointee
        event = config.event.string
        stepID = config.step_id.string
        action = config.action.string
        location = config.location.string
        var params: [String: PluginValue] = [:]
        var templated: Set<String> = []
        for index in 0..<config.param_count {
            let param = config.params[index]
            let name = param.name.string
            params[name] = PluginValue(param.value)
            if param.flags & UInt32(GD_PARAM_TEMPLATED) != 0 { templated.insert(name) }
        }
        self.params = params
        self.templated = templated
        let settingsEnd = MemoryLayout<gd_step_config>.offset(of: \.plugin_settings)! + MemoryLayout<gd_str>.size
        let settings = Int(config.size) >= settingsEnd ? config.plugin_settings.string : ""
        pluginSettings = settings.isEmpty ? nil : settings
    }

    /// Fails unless every name in `names` is present.
    public func require(_ names: String...) throws(ActionError) {
        for name in names where params[name] == nil || params[name] == .null {
            throw .invalid("\(action) needs the parameter `\(name)`")
        }
    }

    /// Fails if a parameter outside `names` is present (catches typos at start-up).
    public func allowOnly(_ names: Set<String>) throws(ActionError) {
        for name in params.keys.sorted() where !names.contains(name) {
            let known = names.sorted().joined(separator: ", ")
            throw .invalid("\(action) has no parameter `\(name)`; it takes: \(known)")
        }
    }

    /// A literal string parameter, or nil if absent or templated.
    public func literalString(_ name: String) -> String? {
        templated.contains(name) ? nil : params[name]?.stringValue
    }
}
