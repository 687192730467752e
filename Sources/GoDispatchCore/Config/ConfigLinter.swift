/// One finding of `godispatch validate`: an error (the server will not start) or a warning.
public struct LintFinding: Sendable, Equatable {
    /// How serious it is.
    public enum Severity: String, Sendable { case error, warning }

    /// Error or warning.
    public let severity: Severity
    /// Where it is.
    public let location: SourceLocation
    /// What is wrong and what to do.
    public let message: String

    /// Creates a finding.
    public init(_ severity: Severity, _ location: SourceLocation, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    /// `file:line:column: warning: message`.
    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// Checks a configuration that compiles for things that are legal but almost certainly mistakes.
public enum ConfigLinter {
    /// The development secret shipped in config.yaml.
    public static let developmentSecret = "dev-secret-change-me-0123456789abcdef"
    /// The development API key shipped in config.yaml.
    public static let developmentAPIKey = "dev-api-key-change-me-0123456789"

    /// Every warning for `config`, in file order.
    public static func warnings(_ config: EngineConfig) -> [LintFinding] {
        var findings: [LintFinding] = []
        let jwt = config.auth.jwt
        if let api = config.api, api.keys.contains(developmentAPIKey) {
            findings.append(
                .init(
                    .warning, api.keysLocation ?? SourceLocation(file: config.file, line: 1, column: 1),
                    "api.keys holds the development default; set GODISPATCH_API_KEY (e.g. openssl rand -hex 32)"))
        }
        if let secret = jwt.secret, jwt.algorithms.contains(where: { $0.hasPrefix("HS") }) {
            let location = jwt.secretLocation ?? SourceLocation(file: config.file, line: 1, column: 1)
            if secret == developmentSecret {
                findings.append(.init(.warning, location, "auth.jwt.secret is the development default; set GODISPATCH_JWT_SECRET"))
            } else if secret.utf8.count < 32 {
                findings.append(.init(.warning, location, "auth.jwt.secret is shorter than 32 bytes; use a long random secret"))
            }
        }
        for event in config.events + config.lifecycle {
            findings += unusedStepIDs(event) + undeclaredPayloadFields(event) + unsatisfiableRequirements(event)
        }
        // A server event's step ids are read by its caller too (each step's result comes back with its
        // id), and it has no `requires`: only the payload check applies.
        for event in config.serverEvents { findings += undeclaredPayloadFields(event) }
        return findings.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
    }

    /// Step ids no later step reads.
    static func unusedStepIDs(_ event: EventDefinition) -> [LintFinding] {
        var findings: [LintFinding] = []
        for (index, step) in event.pipeline.enumerated() {
            guard let id = step.id else { continue }
            let later = event.pipeline.dropFirst(index + 1)
            let used = later.contains { other in
                references(of: other).contains { if case .step(id.value) = $0.root { return true } else { return false } }
            }
            if !used {
                findings.append(.init(.warning, id.location, "step id `\(id.value)` is never read by a later step of `\(event.name)`; remove it or use {{steps.\(id.value)…}}"))
            }
        }
        return findings
    }

    /// Templates naming payload fields the event's schema does not declare (when it forbids others).
    static func undeclaredPayloadFields(_ event: EventDefinition) -> [LintFinding] {
        guard let schema = event.payloadSchema?.value, case .object(let members) = schema,
            let properties = members.first(where: { $0.0 == "properties" })?.1, case .object(let declared) = properties
        else { return [] }
        let closed = members.contains { $0.0 == "additionalProperties" && $0.1 == .bool(false) }
        guard closed else { return [] }
        var findings: [LintFinding] = []
        for step in event.pipeline {
            for reference in references(of: step) {
                guard reference.root == .payload, let field = reference.path.first, !declared.contains(where: { $0.0 == field }) else {
                    continue
                }
                let location = step.params.first { $0.value.value.jsonText.contains(reference.text) }?.value.location ?? step.location
                findings.append(.init(.warning, location, "`\(reference)` names payload field `\(field)`, which `payload_schema` of `\(event.name)` does not declare; it is always missing"))
            }
        }
        return findings
    }

    /// `requires` entries no token can satisfy: a permission is a string, so a template that resolves
    /// to a list or an object (`{{user.perms}}`, `{{payload}}` as a whole) never matches.
    static func unsatisfiableRequirements(_ event: EventDefinition) -> [LintFinding] {
        event.requires.compactMap { requirement in
            guard let template = try? Template.compile(string: requirement.value), case .reference(let reference) = template else {
                return nil
            }
            let structured = reference.root == .userPermissions || (reference.root == .payload && reference.path.isEmpty)
            guard structured else { return nil }
            return LintFinding(.warning, requirement.location, "nobody can send `\(event.name)`: `\(requirement.value)` is never a single permission string")
        }
    }

    private static func references(of step: StepDefinition) -> [TemplateReference] {
        var references = step.params.flatMap { (try? Template.compile($0.value.value))?.references ?? [] }
        if let when = step.when, let condition = try? ConditionParser.parse(when.value) { references += condition.references }
        return references
    }
}
