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
        var errors: [ConfigError] = []
        var empty: [(refusal: PluginLoadError, location: SourceLocation, origin: String)] = []
        for candidate in candidates {
            guard let refusal = PluginHost.checkDirectory(candidate.directory) else { continue }
            if refusal.kind == .emptyDirectory {
                empty.append((refusal, candidate.location, candidate.origin))
            } else {
                errors.append(
                    ConfigError(candidate.location, "plugins directory \(refusal.file) (\(candidate.origin)): \(refusal.message)"))
            }
        }
        // An empty folder beside others is fine (your own plugins folder before you add one); all empty is not.
        if errors.isEmpty, empty.count == candidates.count, let first = empty.first, namesActions {
            errors.append(ConfigError(first.location, "plugins directory \(first.refusal.file) (\(first.origin)): \(first.refusal.message)"))
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
    }

    /// Whether any pipeline (event, lifecycle hook or server event) has a step, so needs a plugin.
    var namesActions: Bool {
        (events + lifecycle + serverEvents).contains { !$0.pipeline.isEmpty }
    }
}
