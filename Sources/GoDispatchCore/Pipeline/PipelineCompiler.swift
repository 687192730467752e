import CGoDispatchABI

/// Compiles events into ready-to-run pipelines: actions looked up, templates parsed, static params
/// checked by each action's `instantiate`. Collects every error with its file, line and column.
public struct PipelineCompiler {
    /// The actions available.
    public let registry: ActionRegistry

    /// Where compiled events and steps count, if anywhere.
    public let metrics: EngineMetrics?

    /// Compiles against `registry`; with `metrics`, each event and step gets its series.
    public init(registry: ActionRegistry, metrics: EngineMetrics? = nil) {
        self.registry = registry
        self.metrics = metrics
    }

    /// Compiles every event, or throws all the errors found.
    public func compile(_ config: EngineConfig) throws(ConfigErrors) -> CompiledConfig {
        var errors: [ConfigError] = []
        var events: [String: CompiledEvent] = [:]
        for event in config.events { events[event.name] = compileEvent(event, config: config, errors: &errors) }
        // Lifecycle pipelines live apart from events: no client message can trigger them.
        var lifecycle: [String: CompiledEvent] = [:]
        for hook in config.lifecycle {
            lifecycle[hook.name] = compileEvent(hook, config: config, counted: false, errors: &errors)
        }
        // Server events run with no origin connection: what needs one is refused here, at load.
        var serverEvents: [String: CompiledEvent] = [:]
        for event in config.serverEvents {
            serverEvents[event.name] = compileEvent(event, config: config, counted: false, hasOrigin: false, errors: &errors)
        }
        let rooms = CompiledRoomRules.compile(config.rooms, errors: &errors)
        if !errors.isEmpty {
            throw ConfigErrors(errors.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) })
        }
        return CompiledConfig(settings: config, events: events, lifecycle: lifecycle, serverEvents: serverEvents, rooms: rooms)
    }

    /// `counted`: the event gets its `godispatch_messages_received_total` and pipeline-duration series
    /// (lifecycle hooks and server events are no client messages and get none). `hasOrigin`: false for
    /// server events, whose steps may not need a sender.
    private func compileEvent(
        _ event: EventDefinition, config: EngineConfig, counted: Bool = true, hasOrigin: Bool = true, errors: inout [ConfigError]
    ) -> CompiledEvent {
        var requires: [Template] = []
        for permission in event.requires {
            do {
                requires.append(try Template.compile(string: permission.value))
            } catch {
                errors.append(ConfigError(permission.location, "in `requires` of `\(event.name)`: \(error.message)"))
            }
        }
        var steps: [CompiledStep] = []
        var earlierIDs: Set<String> = []
        for step in event.pipeline {
            let allowed = hasOrigin || ServerEventRules.check(step, event: event.name, registry: registry, errors: &errors)
            if allowed, let compiled = compile(step, event: event.name, earlierIDs: earlierIDs, config: config, errors: &errors) {
                steps.append(compiled)
            }
            if let id = step.id, !earlierIDs.insert(id.value).inserted {
                errors.append(ConfigError(id.location, "step id `\(id.value)` is used twice in `\(event.name)`"))
            }
        }
        var schema: PayloadSchema?
        if let source = event.payloadSchema {
            do {
                schema = try PayloadSchema(source.value)
            } catch {
                errors.append(ConfigError(source.location, "in `\(event.name)`: \(error.message)"))
            }
        }
        return CompiledEvent(
            name: event.name, requires: requires, schema: schema, steps: steps,
            metrics: counted ? metrics?.event(named: event.name) : nil)
    }

    private func compile(
        _ step: StepDefinition, event: String, earlierIDs: Set<String>, config: EngineConfig,
        errors: inout [ConfigError]
    ) -> CompiledStep? {
        guard let action = registry[step.action.value] else {
            let known = registry.names.isEmpty ? "none are loaded; check `plugins.directory`" : registry.names.joined(separator: ", ")
            errors.append(ConfigError(step.action.location, "unknown action `\(step.action.value)`; available actions: \(known)"))
            return nil
        }
        let arena = ByteArena()
        var params: [CompiledStep.Param] = []
        var failed = false
        for (name, value) in step.params {
            let template: Template
            do {
                template = try Template.compile(value.value)
            } catch {
                errors.append(ConfigError(value.location, "in param `\(name)` of `\(step.action.value)`: \(error.message)"))
                failed = true
                continue
            }
            for reference in template.references {
                guard case .step(let id) = reference.root, !earlierIDs.contains(id) else { continue }
                errors.append(
                    ConfigError(
                        value.location,
                        "`\(reference)` names step `\(id)`, which is not an earlier step of `\(event)`; "
                            + "give an earlier step `id: \(id)`"))
                failed = true
            }
            let literal: gd_value? =
                template.isDynamic ? nil : Cargo.literalValue(value.value).cValue(in: arena)
            params.append(CompiledStep.Param(name: name, cName: arena.copy(name), template: template, literal: literal))
        }
        var condition: StepCondition?
        if let when = step.when {
            do {
                condition = try ConditionParser.parse(when.value)
                for reference in condition?.references ?? [] {
                    guard case .step(let id) = reference.root, !earlierIDs.contains(id) else { continue }
                    errors.append(ConfigError(when.location, "`when` names step `\(id)`, which is not an earlier step of `\(event)`"))
                    failed = true
                }
            } catch {
                errors.append(ConfigError(when.location, error.message))
                failed = true
            }
        }
        if failed { return nil }
        let stepState = instantiate(
            action, step: step, event: event, params: params, arena: arena, config: config, errors: &errors)
        guard let stepState else { return nil }
        return CompiledStep(
            id: step.id?.value, action: action, location: step.location,
            timeout: step.timeout ?? config.plugins.stepTimeout, condition: condition, conditionSource: step.when?.value,
            params: params,
            stepState: stepState.pointer,
            arena: arena, failures: metrics?.failures(ofAction: action.name))
    }

    /// Wraps the optional pointer so "no state" differs from "instantiate failed".
    private struct StepState { let pointer: UnsafeMutableRawPointer? }

    private func instantiate(
        _ action: RegisteredAction, step: StepDefinition, event: String, params: [CompiledStep.Param],
        arena: ByteArena, config: EngineConfig, errors: inout [ConfigError]
    ) -> StepState? {
        guard let instantiate = action.functions.instantiate else { return StepState(pointer: nil) }
        let staticParams = UnsafeMutablePointer<gd_param>.allocate(capacity: max(params.count, 1))
        defer { staticParams.deallocate() }
        for (index, param) in params.enumerated() {
            if let literal = param.literal {
                staticParams[index] = gd_param(name: param.cName, value: literal, flags: 0)
            } else {
                let source = step.params.first { $0.name == param.name }.map { value -> String in
                    if case .string(let text) = value.value.value { return text }
                    return value.value.value.jsonText
                } ?? ""
                staticParams[index] = gd_param(
                    name: param.cName, value: gd_value(kind: Int32(GD_VALUE_STRING.rawValue), text: arena.copy(source)),
                    flags: UInt32(GD_PARAM_TEMPLATED))
            }
        }
        var config = gd_step_config(
            size: UInt32(MemoryLayout<gd_step_config>.size), event: arena.copy(event),
            step_id: arena.copy(step.id?.value ?? ""), action: arena.copy(step.action.value),
            location: arena.copy(step.location.description), params: staticParams, param_count: params.count,
            plugin_settings: arena.copy(config.plugins.settings[action.pluginName]?.jsonText ?? ""))
        var state: UnsafeMutableRawPointer?
        var error = gd_error()
        error.size = UInt32(MemoryLayout<gd_error>.size)
        let status = instantiate(action.functions.action_data, &config, &state, &error)
        guard status == GD_OK.rawValue else {
            let message = error.len > 0 ? error.text : "instantiate failed with status \(status)"
            errors.append(ConfigError(step.location, "action `\(step.action.value)` refused its params: \(message)"))
            return nil
        }
        return StepState(pointer: state)
    }
}

extension gd_error {
    /// The message the plugin wrote.
    var text: String {
        var copy = message
        let length = Int(min(len, UInt32(GD_ERROR_CAPACITY - 1)))
        return withUnsafeBytes(of: &copy) { raw in
            String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<length]), as: UTF8.self)
        }
    }
}

extension Cargo {
    /// A literal config value as the value a plugin receives.
    static func literalValue(_ value: JSONValue) -> ResolvedValue {
        switch value {
        case .null: return .null
        case .string(let text): return .string(Array(text.utf8))
        default:
            var writer = JSONWriter()
            writer.write(value)
            return .json(writer.bytes)
        }
    }
}
