extension EngineConfig {
    /// Checks the plugins directories start-up is about to load (`override`, i.e. `--plugins`, else
    /// `plugins.directory`, one path or a list) before any plugin loads. A directory that is missing or
    /// unreadable is an error at its line; when none of them holds a `.so` while a pipeline names an
    /// action, that is one error at the first — saying where it looked and what to do — instead of an
    /// "unknown action" for every step.
    public func checkPluginsDirectory(override: String? = nil) throws(ConfigErrors) {
        let top = SourceLocation(file: file, line: 1, column: 1)
        let candidates: [(directory: String, location: SourceLocation, origin: String)]
        if let override {
            candidates = [(override, top, "given with --plugins")]
        } else if plugins.directoryLocations.count == plugins.directories.count, !plugins.directoryLocations.isEmpty {
            candidates = zip(plugins.directories, plugins.directoryLocations).map {
                ($0, $1, "`plugins.directory`, resolved against the configuration's folder")
            }
        } else {
            candidates = plugins.directories.map {
                ($0, top, "the default: `plugins` beside the configuration; set `plugins.directory`")
            }
        }
        let errors = PluginHost.checkDirectories(candidates.map(\.directory)).compactMap { index, refusal -> ConfigError? in
            // Empty folders only matter when a pipeline needs an action.
            if refusal.kind == .emptyDirectory, !namesActions || index > 0 { return nil }
            let candidate = candidates[index]
            return ConfigError(candidate.location, "plugins directory \(refusal.file) (\(candidate.origin)): \(refusal.message)")
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
    }

    /// Whether any pipeline (event, lifecycle hook or server event) has a step, so needs a plugin.
    var namesActions: Bool {
        (events + lifecycle + serverEvents).contains { !$0.pipeline.isEmpty }
    }
}
