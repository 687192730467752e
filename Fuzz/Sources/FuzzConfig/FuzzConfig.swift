// Fuzzes the YAML configuration loader (`ConfigLoader.parse`), then compiles what it reads as the
// pipeline compiler would: payload schemas (checked against a few payloads), `requires` and param
// templates, `when:` conditions; and runs the linter. If the input is JSON, it is also compiled as a
// payload schema directly.
//
// Oracle: nothing traps; the loader only ever throws `ConfigErrors` (its typed throws), each error
// with a line and a column from 1.
import FuzzSupport

@testable import GoDispatchCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    let loader = ConfigLoader(environment: ["GODISPATCH_JWT_SECRET": "fuzz-secret", "EMPTY": "", "LOOP": "${LOOP}"])
    do {
        let config = try loader.parse(String(decoding: bytes, as: UTF8.self), file: "/fuzz/config.yaml")
        for event in config.events + config.lifecycle { compile(event) }
        _ = ConfigLinter.warnings(config)
    } catch {
        fuzzCheck(!error.errors.isEmpty, "ConfigErrors without an error")
        for problem in error.errors {
            fuzzCheck(problem.location.line >= 1 && problem.location.column >= 1, "error at \(problem.location)")
        }
    }
    if let value = try? JSONReader.parse(bytes) { checkSchema(value) }
    return 0
}

/// Compiles one event's schema, templates and conditions, ignoring the errors they report.
private func compile(_ event: EventDefinition) {
    if let schema = event.payloadSchema { checkSchema(schema.value) }
    for permission in event.requires { _ = try? Template.compile(string: permission.value) }
    for step in event.pipeline {
        for param in step.params { _ = try? Template.compile(param.value.value) }
        if let when = step.when { _ = try? ConditionParser.parse(when.value) }
    }
}

/// Payloads every compiled schema is checked against.
private let payloads: [JSONValue] = [
    #"{"text":"hello","n":3,"items":[1,"a",null,{"k":[]}],"flag":true,"nested":{"x":-1.5e3}}"#, #""aaaaaaaaaaaaaaaa!""#,
    "42", "[]", "null", #"{"":{"":""}}"#,
].map { try! JSONReader.parse(Array($0.utf8)) }

private func checkSchema(_ value: JSONValue) {
    guard let schema = try? PayloadSchema(value) else { return }
    for payload in payloads { _ = schema.firstViolation(in: payload) }
}
