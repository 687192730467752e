import CGoDispatchABI
import Testing

@testable import GoDispatchCore

@Suite("Templates")
struct TemplateTests {
    @Test func wholeValueKeepsReference() throws {
        #expect(try Template.compile(string: "{{payload}}") == .reference(TemplateReference.parse("payload")))
        #expect(try Template.compile(string: "{{ payload.a.b }}") == .reference(TemplateReference.parse("payload.a.b")))
    }

    @Test func embeddedBecomesText() throws {
        let template = try Template.compile(string: "room:{{target}}:write")
        #expect(template == .text([.literal("room:"), .reference(try .parse("target")), .literal(":write")]))
    }

    @Test func plainStringsAndContainersWithoutTemplatesStayLiteral() throws {
        #expect(try Template.compile(string: "hello") == .literal(.string("hello")))
        let object = JSONValue.object([("a", .number("1")), ("b", .string("x"))])
        #expect(try Template.compile(object) == .literal(object))
        let dynamic = try Template.compile(.object([("text", .string("{{payload.text}}")), ("n", .number("1"))]))
        #expect(dynamic.isDynamic)
    }

    @Test(arguments: [
        ("{{payload", "without a closing"),
        ("}} oops", "without an opening"),
        ("{{}}", "empty template"),
        ("{{nope}}", "unknown template"),
        ("{{user.name}}", "unknown template"),
        ("{{payload..a}}", "is not a path"),
        ("{{payload.a b}}", "is not a path"),
        ("{{steps}}", "unknown template"),
    ])
    func badTemplatesAreRefused(_ source: String, _ expected: String) {
        #expect {
            _ = try Template.compile(string: source)
        } throws: { error in
            (error as? TemplateError)?.message.contains(expected) == true
        }
    }

    @Test func referencesAreParsed() throws {
        #expect(try TemplateReference.parse("steps.ack.response.x") == TemplateReference(root: .step("ack"), path: ["response", "x"], text: "steps.ack.response.x"))
        #expect(try TemplateReference.parse("payload.items.0").path == ["items", "0"])
        #expect(try TemplateReference.parse("user.perms").root == .userPermissions)
        #expect(try TemplateReference.parse("connection.id").root == .connectionID)
        #expect(try TemplateReference.parse("message.id").root == .messageID)
    }
}

@Suite("Template resolution")
struct TemplateResolutionTests {
    let state = InMemoryStateManager()

    func cargo(_ json: String) throws -> Cargo {
        let connection = state.connect(userID: "alice", permissions: ["b", "a"], transport: TestTransport())
        return Cargo(message: try EnvelopeParser.parse(Array(json.utf8)), origin: connection)
    }

    func text(_ value: ResolvedValue) -> String {
        switch value {
        case .null: return "<null>"
        case .string(let bytes): return "s:" + String(decoding: bytes, as: UTF8.self)
        case .json(let bytes): return "j:" + String(decoding: bytes, as: UTF8.self)
        }
    }

    func resolve(_ source: String, in cargo: Cargo) throws -> String {
        text(cargo.evaluate(try Template.compile(string: source)))
    }

    @Test func wholeValuesKeepTheirJSONType() throws {
        let c = try cargo(#"{"event":"e","target":"lobby","id":7,"payload":{"n":3,"t":"hi\n","o":{"k":[1,"two"]},"z":null}}"#)
        #expect(try resolve("{{payload.n}}", in: c) == "j:3")
        #expect(try resolve("{{payload.t}}", in: c) == "s:hi\n")
        #expect(try resolve("{{payload.o}}", in: c) == #"j:{"k":[1,"two"]}"#)
        #expect(try resolve("{{payload.o.k.1}}", in: c) == "s:two")
        #expect(try resolve("{{payload.z}}", in: c) == "<null>")
        #expect(try resolve("{{payload.missing.deeper}}", in: c) == "<null>")
        #expect(try resolve("{{payload.o.k.9}}", in: c) == "<null>")
        #expect(try resolve("{{target}}", in: c) == "s:lobby")
        #expect(try resolve("{{event}}", in: c) == "s:e")
        #expect(try resolve("{{message.id}}", in: c) == "j:7")
        #expect(try resolve("{{user.id}}", in: c) == "s:alice")
        #expect(try resolve("{{user.perms}}", in: c) == #"j:["a","b"]"#)
        #expect(try resolve("{{connection.id}}", in: c).count == 17)  // "s:" and 15 hex digits
    }

    /// The arena fast path (`{{payload…}}` and `{{target}}` copied straight from the message) hands plugins
    /// exactly what resolving then copying does.
    @Test func valuesCopiedStraightIntoTheArenaEqualResolvedOnes() throws {
        let c = try cargo(#"{"event":"e","target":"lobby","id":7,"payload":{"n":3,"t":"hi\n","o":{"k":[1,"two"]},"z":null}}"#)
        let arena = ByteArena(chunkSize: 64)
        for source in [
            "{{payload}}", "{{payload.n}}", "{{payload.t}}", "{{payload.o}}", "{{payload.o.k}}", "{{payload.o.k.1}}",
            "{{payload.z}}", "{{payload.missing}}", "{{target}}", "{{event}}", "{{user.id}}", "x{{target}}y",
        ] {
            let template = try Template.compile(string: source)
            let direct = c.cValue(of: template, in: arena)
            let resolved = c.evaluate(template).cValue(in: arena)
            #expect(direct.kind == resolved.kind, "\(source)")
            #expect(Array(direct.text.raw) == Array(resolved.text.raw), "\(source)")
        }
        let bare = try cargo(#"{"event":"e"}"#)
        #expect(bare.cValue(of: try Template.compile(string: "{{payload}}"), in: arena).kind == Int32(GD_VALUE_NULL.rawValue))
        #expect(bare.cValue(of: try Template.compile(string: "{{target}}"), in: arena).kind == Int32(GD_VALUE_NULL.rawValue))
    }

    @Test func embeddedValuesInterpolateAsText() throws {
        let c = try cargo(#"{"event":"e","payload":{"n":3,"o":{"a":true}}}"#)
        #expect(try resolve("n={{payload.n}} o={{payload.o}} missing=[{{payload.nope}}] t=[{{target}}]", in: c)
            == #"s:n=3 o={"a":true} missing=[] t=[]"#)
    }

    @Test func objectTemplatesBuildJSON() throws {
        let c = try cargo(#"{"event":"e","payload":{"text":"say \"hi\"","n":2}}"#)
        let template = try Template.compile(
            .object([("text", .string("{{payload.text}}")), ("n", .string("{{payload.n}}")), ("k", .array([.string("{{user.id}}"), .bool(true)])), ("none", .string("{{payload.x}}"))]))
        #expect(text(c.evaluate(template)) == #"j:{"text":"say \"hi\"","n":2,"k":["alice",true],"none":null}"#)
    }

    @Test func earlierStepResultsAreReadable() throws {
        var c = try cargo(#"{"event":"e"}"#)
        c.stepResults["first"] = Array(#"{"response":{"ok":true,"list":[4,5]}}"#.utf8)
        #expect(try resolve("{{steps.first.response.list.1}}", in: c) == "j:5")
        #expect(try resolve("{{steps.first}}", in: c) == #"j:{"response":{"ok":true,"list":[4,5]}}"#)
        #expect(try resolve("{{steps.other.x}}", in: c) == "<null>")
    }
}
