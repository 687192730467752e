// Fuzzes the template compiler (`Template.compile`, `TemplateReference.parse`) and resolves what
// compiles against a message, as a pipeline step does.
//
// Input: the template text, optionally followed by a NUL byte and the message's payload JSON (also
// used as an earlier step's result, `steps.t`). If the text is itself JSON, it is also compiled as a
// structured param (`compile(_ value:)`).
// Oracles: each reference parses back from its text to itself; a compiled string template written
// back as text (`{{ref}}` between literals) compiles to the same template; resolved structured
// values are valid JSON.
import FuzzSupport

@testable import GoDispatchCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTemplate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let (head, tail) = splitAtNUL(fuzzInput(data, size))
    let cargo = makeCargo(payload: tail)
    let text = String(decoding: head, as: UTF8.self)
    if let template = try? Template.compile(string: text) {
        check(template, cargo)
        let source = render(template)
        let again: Template
        do {
            again = try Template.compile(string: source)
        } catch {
            fuzzFail("\"\(text)\" compiled, but its rendering \"\(source)\" does not: \(error.message)")
        }
        fuzzCheck(again == template, "\"\(text)\" and its rendering \"\(source)\" compile differently")
    }
    if let value = try? JSONReader.parse(head), let template = try? Template.compile(value) {
        fuzzCheck(template.isDynamic == !template.references.isEmpty, "isDynamic disagrees with references")
        check(template, cargo)
    }
    return 0
}

/// Resolves `template` and checks what comes out.
private func check(_ template: Template, _ cargo: Cargo) {
    for reference in template.references {
        let reparsed = try? TemplateReference.parse(reference.text)
        fuzzCheck(reparsed == reference, "\(reference) does not parse back to itself")
    }
    switch cargo.evaluate(template) {
    case .json(let bytes):
        fuzzCheck(validates(bytes), "resolved to invalid JSON: \(String(decoding: bytes, as: UTF8.self))")
    case .string(let bytes):
        fuzzCheck(bytes.withUnsafeBytes { UTF8Validation.isValid($0) }, "resolved to invalid UTF-8")
    case .null:
        break
    }
    _ = cargo.text(template)
}

/// A string template written back as source.
private func render(_ template: Template) -> String {
    switch template {
    case .literal(.string(let text)): return text
    case .reference(let reference): return "{{\(reference.text)}}"
    case .text(let parts):
        return parts.map { part in
            switch part {
            case .literal(let text): text
            case .reference(let reference): "{{\(reference.text)}}"
            }
        }.joined()
    default: fuzzFail("a string compiled to \(template)")
    }
}

private func validates(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { (try? JSONReader($0).validate()) != nil }
}

// MARK: - A message to resolve against (kept in step with FuzzCondition.swift)

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
