/// The `rooms:` rules of one compiled configuration, with each rule's `presence_info` compiled into a
/// template (at load, so a bad template is a configuration error with its file, line and column).
public struct CompiledRoomRules: Sendable {
    /// The rules.
    public let rules: RoomRules
    /// `presence_info` templates by rule pattern.
    let infoTemplates: [String: Template]

    /// No rules.
    public static let none = CompiledRoomRules(rules: .none, infoTemplates: [:])

    /// The most specific rule matching `room` (a glob match per call: joins only, never publishes).
    public func rule(for room: String) -> RoomRule? { rules.rule(for: room) }

    /// The compiled `presence_info` of `rule`.
    func infoTemplate(for rule: RoomRule) -> Template? { infoTemplates[rule.pattern] }

    /// Compiles every rule's `presence_info`, adding an error for each one that is not a valid template.
    static func compile(_ rules: RoomRules, errors: inout [ConfigError]) -> CompiledRoomRules {
        var templates: [String: Template] = [:]
        for rule in rules.rules {
            guard let info = rule.presenceInfo else { continue }
            do {
                let template = try Template.compile(info.value)
                for reference in template.references {
                    switch reference.root {
                    case .step, .closeCode, .closeReason:
                        errors.append(
                            ConfigError(
                                info.location,
                                "in `rooms.\(rule.pattern).presence_info`: `\(reference)` is not known when a connection "
                                    + "joins; use payload, target, event, user.id, user.perms, user.claims.<path>, "
                                    + "connection.id or message.id"))
                    default: break
                    }
                }
                templates[rule.pattern] = template
            } catch {
                errors.append(ConfigError(info.location, "in `rooms.\(rule.pattern).presence_info`: \(error.message)"))
            }
        }
        return CompiledRoomRules(rules: rules, infoTemplates: templates)
    }
}

/// The room rules of the configuration in force, shared by the router (which swaps them on reload) and
/// every pipeline's host functions.
public final class RoomRulesCell: Sendable {
    private let current = Locked(CompiledRoomRules.none)

    /// An empty cell (no rules).
    public init() {}

    /// The rules in force.
    public var rules: CompiledRoomRules { current.withLock { $0 } }

    /// Replaces the rules (router start and reload).
    func replace(_ rules: CompiledRoomRules) { current.withLock { $0 = rules } }
}
