/// What a `server_events:` step may not use, because a server event has no origin connection: actions
/// flagged `GD_ACTION_NEEDS_ORIGIN`, and templates (in params or `when:`) naming the sender.
enum ServerEventRules {
    /// True if `reference` reads the origin connection, its user, its message or its close.
    static func needsOrigin(_ reference: TemplateReference) -> Bool {
        switch reference.root {
        case .userID, .userPermissions, .userClaims, .connectionID, .messageID, .closeCode, .closeReason: return true
        case .payload, .target, .event, .step: return false
        }
    }

    /// Checks one step of server event `event`, appending an error (with its file:line:column) for each
    /// use of the origin; returns false if there was any.
    static func check(
        _ step: StepDefinition, event: String, registry: ActionRegistry, errors: inout [ConfigError]
    ) -> Bool {
        let before = errors.count
        if let action = registry[step.action.value], action.needsOrigin {
            errors.append(
                ConfigError(
                    step.action.location,
                    "action `\(action.name)` acts on the connection that sent the message (plugin `\(action.pluginName)` "
                        + "flags it GD_ACTION_NEEDS_ORIGIN), and server event `\(event)` has none: a backend emits it; "
                        + "address users or rooms explicitly, e.g. `_notify_user` with user: \"{{target}}\", or `_notify_room`"))
        }
        for (name, value) in step.params {
            guard let template = try? Template.compile(value.value) else { continue }  // compile() reports it
            for reference in template.references where needsOrigin(reference) {
                errors.append(ConfigError(value.location, "in param `\(name)` of `\(step.action.value)`: " + message(reference, event)))
            }
        }
        if let when = step.when, let condition = try? ConditionParser.parse(when.value) {
            for reference in condition.references where needsOrigin(reference) {
                errors.append(ConfigError(when.location, "in `when`: " + message(reference, event)))
            }
        }
        return errors.count == before
    }

    private static func message(_ reference: TemplateReference, _ event: String) -> String {
        "`\(reference)` names the connection that sent the message, and server event `\(event)` has none "
            + "(a backend emits it); read what you need from {{payload.…}} or {{target}} instead"
    }
}
