import Yams

/// `server_events:` — pipelines a backend starts (`POST /api/emit`), with no origin connection.
extension ConfigLoader {
    /// The keys a server event may have.
    static let serverEventKeys = ["payload_schema", "pipeline"]

    /// Reads `server_events:`: event name → `{ payload_schema?, pipeline }`, with the step syntax of
    /// `events:`. `requires:` is refused: no user sends a server event.
    static func readServerEvents(_ node: Node, reader: inout YAMLNodeReader) -> [EventDefinition] {
        guard let members = reader.mapping(node, at: "server_events", allowed: nil) else { return [] }
        var events: [EventDefinition] = []
        for member in members {
            let name = member.key
            guard !name.isEmpty, name.utf8.count <= EnvelopeParser.maxEventLength else {
                reader.fail(member.keyNode, "a server event name must be 1 to \(EnvelopeParser.maxEventLength) bytes")
                continue
            }
            let path = "server_events.\(name)"
            var event = EventDefinition(name: name, location: reader.location(member.keyNode), requires: [], pipeline: [])
            // Keys are checked here rather than by `mapping`, so `requires` gets its own explanation.
            guard let fields = reader.mapping(member.value, at: path, allowed: nil) else { continue }
            var sawPipeline = false
            for field in fields {
                switch field.key {
                case "payload_schema":
                    if let schema = reader.json(field.value, at: "\(path).payload_schema") {
                        event.payloadSchema = Located(value: schema, location: reader.location(field.value))
                    }
                case "pipeline":
                    sawPipeline = true
                    guard let steps = reader.sequence(field.value, at: "\(path).pipeline") else { continue }
                    for (index, stepNode) in steps.enumerated() {
                        if let step = readStep(stepNode, at: "\(path).pipeline[\(index)]", reader: &reader) {
                            event.pipeline.append(step)
                        }
                    }
                case "requires":
                    reader.fail(
                        field.keyNode,
                        "`requires` has no meaning in `\(path)`: no user sends a server event (the backend calling the "
                            + "API is trusted by its API key); remove it, or check a user's permission in a step")
                default:
                    reader.fail(
                        field.keyNode,
                        "unknown key `\(field.key)` in `\(path)`; allowed keys: \(serverEventKeys.joined(separator: ", "))")
                }
            }
            if !sawPipeline { reader.fail(member.keyNode, "server event `\(name)` has no `pipeline:`; list at least one step") }
            events.append(event)
        }
        return events
    }
}
