extension EngineConfig {
    /// Checks the plugins directory start-up is about to load (`override`, i.e. `--plugins`, else
    /// `plugins.directory`) before any plugin loads. A directory that is missing or unreadable, or that
    /// holds no `.so` while a pipeline names an action, is one error at the `plugins.directory` line saying
    /// where it looked and what to do — instead of an "unknown action" for every step.
    public func checkPluginsDirectory(override: String? = nil) throws(ConfigErrors) {
        guard let refusal = PluginHost.checkDirectory(override ?? plugins.directory) else { return }
        if refusal.kind == .emptyDirectory, !namesActions { return }
        let top = SourceLocation(file: file, line: 1, column: 1)
        let source: (location: SourceLocation, origin: String) =
            if override != nil {
                (top, "given with --plugins")
            } else if let written = plugins.directoryLocation {
                (written, "`plugins.directory`, resolved against the configuration's folder")
            } else {
                (top, "the default: `plugins` beside the configuration; set `plugins.directory`")
            }
        throw ConfigErrors([
            ConfigError(source.location, "plugins directory \(refusal.file) (\(source.origin)): \(refusal.message)")
        ])
    }

    /// Whether any pipeline (event, lifecycle hook or server event) has a step, so needs a plugin.
    var namesActions: Bool {
        (events + lifecycle + serverEvents).contains { !$0.pipeline.isEmpty }
    }
}
