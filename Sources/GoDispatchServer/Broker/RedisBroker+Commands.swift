import GoDispatchCore
import GoDispatchRedis
import NIOCore

/// Commands on users and connections: published to the nodes that hold them, answered by each.
///
/// A request is `<id> <sender node>\n<command JSON>`; an answer, on the sender's reply channel, is
/// `<id> <found: 0|1> <count>`. A node that receives its own request answers itself without applying it
/// (it applied it before sending), so the sender always waits for exactly as many answers as `PUBLISH`
/// said it reached.
extension RedisBroker {
    public func send(_ command: ControlCommand, completion: @escaping @Sendable (Result<ControlTally, BrokerError>) -> Void) {
        guard isAvailable else {
            return completion(.failure(.unavailable("Redis is unreachable: other nodes were not reached")))
        }
        let loop = commands.eventLoop
        let (id, name) = state.withLock { state -> (UInt64, String) in
            let id = state.nextRequest
            state.nextRequest += 1
            let timeout = loop.scheduleTask(in: answerTimeout) { [weak self] () -> Void in self?.timedOut(id) }
            state.requests[id] = PendingRequest(completion: completion, timeout: timeout)
            return (id, state.identity)
        }
        var payload = ByteBuffer()
        payload.writeString("\(id) \(name)\n")
        payload.writeBytes(command.json)
        let channel = command.user.map(keys.user) ?? keys.cluster
        commands.send(RedisCommand(["PUBLISH", .string(channel), .buffer(payload)])).whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let reply):
                self.settle(id) { $0.expected = Int(reply.int ?? 0) }
            case .failure(let error):
                self.fail(id, .unavailable("Redis connection lost while sending to other nodes (\(error))"))
            }
        }
    }

    /// Updates request `id` and completes it once every node reached has answered.
    func settle(_ id: UInt64, _ update: (inout PendingRequest) -> Void) {
        let done = state.withLock { state -> PendingRequest? in
            guard var request = state.requests[id] else { return nil }
            update(&request)
            guard let expected = request.expected, request.answered >= expected else {
                state.requests[id] = request
                return nil
            }
            state.requests.removeValue(forKey: id)
            return request
        }
        guard let done else { return }
        done.timeout.cancel()
        done.completion(.success(done.tally))
    }

    private func fail(_ id: UInt64, _ error: BrokerError) {
        guard let request = state.withLock({ $0.requests.removeValue(forKey: id) }) else { return }
        request.timeout.cancel()
        request.completion(.failure(error))
    }

    private func timedOut(_ id: UInt64) {
        guard let request = state.withLock({ $0.requests.removeValue(forKey: id) }) else { return }
        let reached = request.expected.map(String.init) ?? "an unknown number of"
        request.completion(
            .failure(
                .timedOut("\(request.answered) of \(reached) node(s) answered within \(answerTimeout.nanoseconds / 1_000_000) ms")))
    }

    /// A request from a node (this one included): apply it here and answer.
    func receivedCommand(_ payload: ByteBuffer) {
        let view = payload.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else { return }
        let header = String(decoding: view[view.startIndex..<newline], as: UTF8.self).split(separator: " ")
        guard header.count == 2, let id = UInt64(header[0]) else { return }
        let sender = String(header[1])
        let (name, node) = state.withLock { ($0.identity, $0.node) }
        if sender == name {
            // Ours: applied before it was sent.
            settle(id) { $0.answered += 1 }
            return
        }
        guard let node else {
            logger.notice("a cluster command arrived while this node is closing; ignored", metadata: ["from": "\(sender)"])
            answer(id, to: sender, .none)
            return
        }
        guard let command = ControlCommand(json: view[(newline + 1)...]) else {
            logger.warning("malformed cluster command ignored", metadata: ["from": "\(sender)"])
            answer(id, to: sender, .none)
            return
        }
        let tally = apply(command, on: node)
        guard case .join(_, let room, _) = command, tally.count > 0,
            let subscription = state.withLock({ $0.rooms[room] }), !subscription.isConfirmed
        else {
            return answer(id, to: sender, tally)
        }
        // Answer once frames published to the room reach the new members here.
        subscription.confirmation.whenComplete { [weak self] _ in self?.answer(id, to: sender, tally) }
    }

    /// Applies a command here. A `disconnect_connection` for a connection still being admitted here (its
    /// slot was cycled out by another node's admission before it was registered) closes it once it is.
    func apply(_ command: ControlCommand, on node: LocalNode) -> ControlTally {
        guard case .disconnectConnection(let id, let code, let reason, _) = command else { return node.apply(command) }
        // Recorded first: a connection that registers after this is closed by `connectionOpened`, one that
        // registered before is found by `apply`.
        let admitting = state.withLock { state -> Bool in
            guard state.admitting.contains(id) else { return false }
            state.closedEarly[id] = (code, reason)
            return true
        }
        let tally = node.apply(command)
        guard admitting else { return tally }
        if tally.found { state.withLock { _ = $0.closedEarly.removeValue(forKey: id) } }
        return ControlTally(found: true, count: 1)
    }

    private func answer(_ id: UInt64, to sender: String, _ tally: ControlTally) {
        let text = "\(id) \(tally.found ? 1 : 0) \(tally.count)"
        commands.send(RedisCommand(["PUBLISH", .string(keys.replies(to: sender)), .string(text)])).whenFailure { [logger] error in
            logger.warning("could not answer a cluster command", metadata: ["to": "\(sender)", "error": "\(error)"])
        }
    }

    /// An answer to one of this node's requests.
    func receivedAnswer(_ payload: ByteBuffer) {
        let parts = String(decoding: payload.readableBytesView, as: UTF8.self).split(separator: " ")
        guard parts.count == 3, let id = UInt64(parts[0]), let count = Int(parts[2]) else { return }
        let tally = ControlTally(found: parts[1] == "1", count: count)
        settle(id) { request in
            request.answered += 1
            request.tally = request.tally + tally
        }
    }
}
