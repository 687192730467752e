// Fuzzes the `when:` condition parser (`ConditionParser.parse`) and evaluates what parses against a
// message, as the pipeline does before each step.
//
// Input: the condition, optionally followed by a NUL byte and the message's payload JSON (also used
// as an earlier step's result, `steps.t`).
// Oracles: each path parses back from its text to itself; `(c)` parses to the same condition as `c`;
// `not (c)` parses and evaluates to the opposite of `c`.
import FuzzSupport

@testable import GoDispatchCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCondition(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (head, tail) = splitAtNUL(fuzzInput(data, size))
    let source = String(decoding: head, as: UTF8.self)
    guard let condition = try? ConditionParser.parse(source) else { return 0 }
    for reference in condition.references {
        let reparsed = try? TemplateReference.parse(reference.text)
        fuzzCheck(reparsed == reference, "\(reference) does not parse back to itself")
    }
    let cargo = makeCargo(payload: tail)
    let holds = condition.evaluate(cargo)
    do {
        let grouped = try ConditionParser.parse("(\(source))")
        fuzzCheck(grouped == condition, "`(\(source))` parses to \(grouped), `\(source)` to \(condition)")
        let negated = try ConditionParser.parse("not (\(source))")
        fuzzCheck(negated.evaluate(cargo) == !holds, "`not (\(source))` is not the opposite of `\(source)`")
    } catch {
        // One more group and `not` may cross the parser's limit; that refusal is by design.
        guard !error.message.contains("more than \(ConditionParser.maxOperators) operators") else { return 0 }
        fuzzFail("`\(source)` parses, but not in parentheses: \(error.message)")
    }
    return 0
}

// MARK: - A message to resolve against (kept in step with FuzzTemplate.swift)

/// The payload used when the input brings none (or brings invalid JSON).
private let defaultPayload = #"{"n":5,"name":"ada","tags":["a","b"],"muted":false,"meta":{"k":1,"a.b":[null,{"x":"\u00e9\"y"}]}}"#

/// A message from `alice` in `lobby` carrying `payload` (if it is JSON), with results for steps `a` and `t`.
private func makeCargo(payload: [UInt8]?) -> Cargo {
    let user = User(id: "alice", permissions: ["admin", "chat:write"])
    let connection = Connection(id: "c0ffee", user: user, transport: IdleTransport())
    let prefix = Array(#"{"event":"chat.send","target":"lobby","id":"m1","payload":"#.utf8)
    var message = try! EnvelopeParser.parse(prefix + Array(defaultPayload.utf8) + [UInt8(ascii: "}")])
    var steps = ["a": Array(defaultPayload.utf8)]
    if let payload, let own = try? EnvelopeParser.parse(prefix + payload + [UInt8(ascii: "}")]) {
        message = own
        steps["t"] = payload
    }
    var cargo = Cargo(message: message, origin: connection)
    cargo.stepResults = steps
    cargo.close = (1000, "bye")
    return cargo
}

/// A transport that never runs or sends anything: resolving templates does not touch it.
private final class IdleTransport: ConnectionTransport {
    struct Idle: ConnectionExecutor, ScheduledWork {
        func execute(_ work: @escaping @Sendable () -> Void) {}
        func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) -> any ScheduledWork { self }
        func cancel() {}
    }

    var executor: any ConnectionExecutor { Idle() }
    func send(_ frame: OutboundFrame) {}
    func close(code: UInt16, reason: String) {}
}
