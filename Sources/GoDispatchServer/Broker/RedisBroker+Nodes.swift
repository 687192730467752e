import GoDispatchCore
import GoDispatchRedis
import NIOCore

/// Nodes: each heartbeat records this node and reads every live one.
extension RedisBroker {
    public var clusterNodes: [JSONValue]? {
        let (nodes, name) = state.withLock { ($0.nodes, $0.identity) }
        // Before the first heartbeat (or while Redis is down and this node is not listed): at least itself.
        guard nodes.contains(where: { $0.name == name }) else { return nodes.map(\.description) + [describe()] }
        return nodes.map(\.description)
    }

    /// This node as `info` lists it (Centrifugo's field names, with `num_rooms` beside `num_channels`).
    func describe() -> JSONValue {
        let (name, node) = state.withLock { ($0.nodeName, $0.node) }
        let uptime = Int((ContinuousClock.now - started).components.seconds)
        let stateCore = node?.services.state
        let (clients, users, rooms) = (stateCore?.connectionCount ?? 0, stateCore?.userCount ?? 0, stateCore?.roomCount ?? 0)
        return .object([
            ("name", .string(name)), ("uid", .string(uid)), ("version", .string(GoDispatchVersion.current)),
            ("uptime", .number(String(uptime))), ("num_clients", .number(String(clients))),
            ("num_users", .number(String(users))), ("num_rooms", .number(String(rooms))),
            ("num_channels", .number(String(rooms))),
        ])
    }

    /// One heartbeat (on the command connection's event loop): a node silent for three heartbeats is gone.
    func beat() {
        guard commands.state == .connected else { return }
        let limit = Self.milliseconds(settings.heartbeat * 3)
        let name = identity
        RedisScripts.heartbeat.run(
            on: commands, keys: [keys.nodes, keys.nodesAlive],
            arguments: [.string(name), .string(describe().jsonText), .integer(limit)]
        ).whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let reply):
                let items = reply.array ?? []
                let deadCount = Int(items.first?.int ?? 0)
                guard items.count >= 1 + deadCount else { return }
                let dead = items[1..<(1 + deadCount)].compactMap(\.string)
                var nodes: [(name: String, description: JSONValue)] = []
                for index in stride(from: 1 + deadCount, to: items.count - 1, by: 2) {
                    guard let name = items[index].string else { continue }
                    let text = items[index + 1].string ?? "{}"
                    nodes.append((name, JSONValue(json: Array(text.utf8)) ?? .object([("name", .string(name))])))
                }
                self.state.withLock {
                    $0.nodes = nodes
                    $0.heardNodes = true
                }
                for identity in dead {
                    self.logger.warning("a node stopped sending heartbeats: its presence entries are removed", metadata: ["node": "\(identity)"])
                    self.removeEntries(of: identity)
                }
            case .failure(let error):
                self.logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Whether a heartbeat has listed the live nodes (until then nobody's connection slots are dropped).
    var knowsLiveNodes: Bool { state.withLock { $0.heardNodes } }

    /// The names of the nodes the last heartbeat saw alive (this one always included).
    var liveNodeNames: [String] {
        state.withLock { state in
            var names = state.nodes.map(\.name)
            if !names.contains(state.identity) { names.append(state.identity) }
            return names
        }
    }
}
