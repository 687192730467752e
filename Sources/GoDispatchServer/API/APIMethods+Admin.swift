import GoDispatchCore

extension APIMethods {
    /// How many rooms the dashboard lists, largest first.
    static let largestRoomsShown = 10

    /// What `GET /admin/overview` answers: the node(s), the state's sizes, the largest rooms, the loaded
    /// plugins with their actions, and the configuration's events. The dashboard reads its counters from
    /// `GET /admin/metrics` (the Prometheus text) and this for everything else.
    func adminOverview() -> [UInt8] {
        let state = engine.state
        let largest = state.roomSizes().sorted { ($0.members, $1.name) > ($1.members, $0.name) }.prefix(Self.largestRoomsShown)
        let plugins = engine.plugins.plugins.map { plugin in
            JSONValue.object([
                ("name", .string(plugin.name)), ("version", .string(plugin.version)), ("abi", .string(plugin.abiVersion)),
                ("file", .string(plugin.file)), ("description", .string(plugin.description)),
                (
                    "actions",
                    .array(plugin.actions.map { .object([("name", .string($0.name)), ("description", .string($0.description))]) })
                ),
            ])
        }
        let settings = engine.config.settings
        let overview = JSONValue.object([
            ("nodes", .array(engine.broker.clusterNodes ?? nodes)),
            ("connections", .number(String(state.connectionCount))),
            ("users", .number(String(state.userCount))),
            ("rooms", .number(String(state.roomCount))),
            ("largest_rooms", .array(largest.map { .object([("room", .string($0.name)), ("members", .number(String($0.members)))]) })),
            ("plugins", .array(plugins)),
            ("events", .array(settings.events.map { .string($0.name) })),
            ("server_events", .array(settings.serverEvents.map { .string($0.name) })),
        ])
        return Array(overview.jsonText.utf8)
    }
}
