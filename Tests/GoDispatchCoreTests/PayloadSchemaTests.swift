import Testing

@testable import GoDispatchCore

@Suite("Payload schemas")
struct PayloadSchemaTests {
    /// Compiles a schema written as JSON text.
    func schema(_ json: String) throws -> PayloadSchema {
        try PayloadSchema(try JSONReader.parse(Array(json.utf8)))
    }

    func violation(_ schemaJSON: String, _ valueJSON: String) throws -> SchemaViolation? {
        try schema(schemaJSON).firstViolation(in: try JSONReader.parse(Array(valueJSON.utf8)))
    }

    /// (schema, a value it accepts, a value it rejects, the rejection's pointer)
    static let keywordCases: [(String, String, String, String)] = [
        (#"{"type":"string"}"#, #""x""#, "1", ""),
        (#"{"type":["integer","null"]}"#, "null", "1.5", ""),
        (#"{"type":"integer"}"#, "3", #""3""#, ""),
        (#"{"properties":{"n":{"type":"number"}}}"#, #"{"n":1}"#, #"{"n":"1"}"#, "/n"),
        (#"{"required":["text"]}"#, #"{"text":""}"#, #"{}"#, "/text"),
        (#"{"properties":{"a":{}},"additionalProperties":false}"#, #"{"a":1}"#, #"{"a":1,"b":2}"#, "/b"),
        (#"{"additionalProperties":{"type":"string"}}"#, #"{"x":"y"}"#, #"{"x":1}"#, "/x"),
        (#"{"enum":["red","green"]}"#, #""red""#, #""blue""#, ""),
        (#"{"const":1}"#, "1.0", "2", ""),
        (#"{"minLength":2}"#, #""ab""#, #""a""#, ""),
        (#"{"maxLength":2}"#, #""éé""#, #""abc""#, ""),
        (#"{"pattern":"^[a-z]+$"}"#, #""abc""#, #""ab1""#, ""),
        (#"{"minimum":0}"#, "0", "-0.5", ""),
        (#"{"maximum":10}"#, "10", "11", ""),
        (#"{"items":{"type":"string"}}"#, #"["a","b"]"#, #"["a",2]"#, "/1"),
        (#"{"minItems":1}"#, "[1]", "[]", ""),
        (#"{"maxItems":1}"#, "[1]", "[1,2]", ""),
        (#"{"properties":{"a/b":{"properties":{"c~d":{"type":"string"}}}}}"#, #"{"a/b":{"c~d":"x"}}"#, #"{"a/b":{"c~d":1}}"#, "/a~1b/c~0d"),
    ]

    @Test("each keyword accepts and rejects", arguments: keywordCases)
    func keyword(_ schemaJSON: String, _ accepted: String, _ rejected: String, _ pointer: String) throws {
        #expect(try violation(schemaJSON, accepted) == nil, "\(schemaJSON) should accept \(accepted)")
        let failure = try #require(try violation(schemaJSON, rejected), "\(schemaJSON) should reject \(rejected)")
        #expect(failure.pointer == pointer)
    }

    @Test(arguments: [
        (#"{"typo":1}"#, "unknown keyword `typo`"),
        (#"{"type":"text"}"#, "is not a type"),
        (#"{"minLength":-1}"#, "whole number"),
        (#"{"pattern":"(unclosed"}"#, "not a valid regular expression"),
        (#"{"pattern":"a(?=b)"}"#, "`payload_schema.pattern` is not a valid regular expression: a(?=b) — lookahead `(?=`"),
        (#"{"pattern":"(a)\\1"}"#, "backreference `\\1` at character 4 is not supported"),
        (#"{"pattern":"a{0,100000}"}"#, "above the limit of 10000"),
        (#"{"properties":{"a":{"maximum":"big"}}}"#, "payload_schema.properties.a.maximum"),
    ])
    func badSchemasAreLoadErrors(_ schemaJSON: String, _ text: String) {
        #expect {
            _ = try schema(schemaJSON)
        } throws: { error in
            (error as? SchemaError)?.message.contains(text) == true
        }
    }

    @Test func anInvalidPayloadNeverReachesAnAction() async throws {
        let h = try EngineHarness(
            events: """
                  chat.send:
                    payload_schema:
                      type: object
                      required: [text]
                      additionalProperties: false
                      properties:
                        text: { type: string, minLength: 1, maxLength: 20 }
                    pipeline:
                      - action: _notify_origin
                        params: { event: ok, payload: "{{payload.text}}" }

                """)
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"chat.send","id":"m1","payload":{"text":""}}"#, from: alice)
        let refused = try #require(await client.nextFrame())
        #expect(refused.errorCode == "invalid_payload")
        #expect(refused["payload"]?["pointer"] == .string("/text"))
        #expect(refused["payload"]?["message"] == .string("payload at /text must be at least 1 character"))
        #expect(refused["payload"]?["ref"] == .string("m1"))
        h.send(#"{"event":"chat.send"}"#, from: alice)
        #expect(await client.nextFrame()?["payload"]?["message"] == .string("payload must be object"))
        h.send(#"{"event":"chat.send","payload":{"text":"hi"}}"#, from: alice)
        #expect(await client.nextFrame()?["payload"] == .string("hi"))
    }

    @Test func aHostilePayloadIsJudgedInBoundedSteps() async throws {
        // 64 KiB of `a` then `!`: exponential for a backtracking engine, linear here.
        let hostile = String(repeating: "a", count: 65_536) + "!"
        let compiled = try schema(#"{"properties":{"text":{"type":"string","pattern":"^(a+)+$"}}}"#)
        let regex = try #require(compiled.properties.first?.schema.pattern?.regex)
        let (matched, steps) = regex.match(hostile)
        #expect(!matched)
        #expect(steps <= regex.programSize * (hostile.unicodeScalars.count + 1))
        #expect(compiled.firstViolation(in: .object([("text", .string(hostile))])) == SchemaViolation(pointer: "/text", message: "must match ^(a+)+$"))

        let h = try EngineHarness(
            events: """
                  chat.send:
                    payload_schema:
                      properties:
                        text: { type: string, pattern: "^(a+)+$" }
                    pipeline:
                      - action: _notify_origin
                        params: { event: ok, payload: "{{payload.text}}" }

                """)
        let (alice, client) = h.connect("alice")
        h.send(#"{"event":"chat.send","payload":{"text":"\#(hostile)"}}"#, from: alice)
        let refused = try #require(await client.nextFrame())
        #expect(refused.errorCode == "invalid_payload")
        #expect(refused["payload"]?["message"] == .string("payload at /text must match ^(a+)+$"))
        let fine = String(hostile.dropLast())
        h.send(#"{"event":"chat.send","payload":{"text":"\#(fine)"}}"#, from: alice)
        #expect(await client.nextFrame()?["payload"] == .string(fine))
    }

    @Test func aBadSchemaNamesItsLineAtLoad() throws {
        do {
            _ = try makeEngine(configHead + "\nevents:\n  e:\n    payload_schema: { type: text }\n    pipeline: []\n")
            Issue.record("expected a load error")
        } catch let error as EngineStartError {
            let first = try #require(error.config?.errors.first)
            #expect(first.location.line == 6 && first.location.column == 21, "\(first)")
            #expect(first.message.contains("`payload_schema.type` \"text\" is not a type"))
        }
    }
}
