import Foundation
import Testing

@testable import GoDispatchCore

/// The JSONTestSuite corpus: `GODISPATCH_JSON_CORPUS`, or `../shared/testdata/JSONTestSuite/test_parsing`
/// beside the repository.
enum JSONCorpus {
    static let directory: String? = {
        if let override = ProcessInfo.processInfo.environment["GODISPATCH_JSON_CORPUS"] { return override }
        // This file is <repo>/Tests/GoDispatchCoreTests/JSONTests.swift; the corpus sits beside the repo.
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = repo.deletingLastPathComponent().appendingPathComponent("shared/testdata/JSONTestSuite/test_parsing").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()

    static func files(prefix: String) -> [String] {
        guard let directory, let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: "\(directory!)/\(name)")))
    }
}

func validates(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { (try? JSONReader($0).validate()) != nil }
}

/// The project's own conformance set (RFC 8259), always run; the external JSONTestSuite corpus adds to it
/// when present.
enum JSONConformance {
    /// Texts every conforming parser accepts.
    static let valid: [String] = [
        #"{}"#, #"[]"#, #"0"#, #"-0"#, #"1"#, #"-1.5"#, #"1e3"#, #"1E-3"#, #"1.0e+10"#, #"123456789012345678901234567890"#,
        #""""#, #""a""#, #""\"\\\/\b\f\n\r\t""#, #""\u0041\u00e9\u20ac""#, #""\ud83d\ude00""#, #""😀 é""#,
        #"true"#, #"false"#, #"null"#, #" [ 1 , 2 ] "#, "\t{\n\"a\"\r:\n1}\n", #"[[[[[]]]]]"#, #"{"a":{"b":{"c":[]}}}"#,
        #"[1,"x",true,null,{},[]]"#, #"{"":0}"#, #"{"a":1,"a":2}"#, #"[-0.0e-0]"#, #"[1e-400]"#, #"[1.5E+308]"#,
        #""\u0000""#,
    ]
    /// Texts every conforming parser rejects.
    static let invalid: [String] = [
        "", " ", #"{"#, #"}"#, #"["#, #"[1,]"#, #"[,1]"#, #"{"a":1,}"#, #"{"a"}"#, #"{"a":}"#, #"{a:1}"#, #"{'a':1}"#,
        #"['a']"#, #"[01]"#, #"[-]"#, #"[1.]"#, #"[.5]"#, #"[1e]"#, #"[1e+]"#, #"[+1]"#, #"[0x10]"#, #"[NaN]"#,
        #"[Infinity]"#, #"[tru]"#, #"[True]"#, #"[nul]"#, #""abc"#, #""\x""#, #""\u12""#, #""\u12G4""#, "\"a\u{01}b\"",
        "\"line\nbreak\"", #"[1 2]"#, #"{"a":1 "b":2}"#, #"1 2"#, #"[1]]"#, #"{}}"#, #"[] x"#, #"/* c */ []"#,
        #"[1] // c"#, "[\u{00A0}1]",
    ]
    /// Byte sequences that are not UTF-8, in a string: rejected.
    static let invalidBytes: [[UInt8]] = [
        [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF8, 0x88, 0x80, 0x80, 0x80, 0x22],
        [0x22, 0xC0, 0xAF, 0x22],
    ]
}

@Suite("JSON reader and writer")
struct JSONTests {
    @Test("accepts the project's own valid texts", arguments: JSONConformance.valid)
    func acceptsOwnValid(_ text: String) throws {
        let bytes = Array(text.utf8)
        #expect(validates(bytes), "\(text) should be accepted")
        let value = try JSONReader.parse(bytes)
        var writer = JSONWriter()
        writer.write(value)
        #expect(try JSONReader.parse(writer.bytes) == value, "round trip of \(text)")
    }

    @Test("rejects the project's own invalid texts", arguments: JSONConformance.invalid)
    func rejectsOwnInvalid(_ text: String) {
        #expect(!validates(Array(text.utf8)), "\(text) should be rejected")
    }

    @Test("rejects strings that are not UTF-8", arguments: JSONConformance.invalidBytes)
    func rejectsInvalidUTF8(_ bytes: [UInt8]) {
        #expect(!validates(bytes), "\(bytes) should be rejected")
    }

    @Test(
        "the JSONTestSuite corpus is present (set GODISPATCH_JSON_CORPUS to point elsewhere)",
        .enabled(
            if: JSONCorpus.directory != nil,
            "skipped: no JSONTestSuite corpus at ../shared/testdata/JSONTestSuite/test_parsing and GODISPATCH_JSON_CORPUS is unset; the project's own conformance set still runs"))
    func corpusPresent() {
        #expect(JSONCorpus.files(prefix: "y_").count > 90)
        #expect(JSONCorpus.files(prefix: "n_").count > 180)
    }

    @Test("accepts every y_ file", arguments: JSONCorpus.files(prefix: "y_"))
    func acceptsValid(_ name: String) throws {
        let bytes = try JSONCorpus.bytes(name)
        #expect(validates(bytes), "\(name) should be accepted")
        // Materializing and writing back gives JSON that validates again.
        let value = try JSONReader.parse(bytes)
        var writer = JSONWriter()
        writer.write(value)
        #expect(validates(writer.bytes))
        #expect(try JSONReader.parse(writer.bytes) == value)
    }

    @Test("rejects every n_ file", arguments: JSONCorpus.files(prefix: "n_"))
    func rejectsInvalid(_ name: String) throws {
        #expect(!validates(try JSONCorpus.bytes(name)), "\(name) should be rejected")
    }

    @Test("never crashes on an i_ file", arguments: JSONCorpus.files(prefix: "i_"))
    func implementationDefined(_ name: String) throws {
        let bytes = try JSONCorpus.bytes(name)
        if validates(bytes) { _ = try JSONReader.parse(bytes) }
    }

    @Test func rejectsDeepNestingWithoutCrashing() {
        let deep = Array(repeating: UInt8(ascii: "["), count: 100_000)
        #expect(!validates(deep))
        let ok = Array(repeating: UInt8(ascii: "["), count: 100) + Array(repeating: UInt8(ascii: "]"), count: 100)
        #expect(validates(ok))
    }

    @Test func writerEscapesStrings() {
        var writer = JSONWriter()
        writer.writeString("a\"b\\c\nd\u{01}é😀")
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #""a\"b\\c\nd\u0001é😀""#)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONReader.parse(Array(#"["\u00e9\ud83d\ude00\n", "\ud800x"]"#.utf8))
        #expect(value == .array([.string("é😀\n"), .string("\u{FFFD}x")]))
    }

    @Test func navigatesWithoutMaterializing() {
        let text = Array(#"{"a":{"b":[10,{"c":"deep"}]},"a\u0062":2}"#.utf8)
        text.withUnsafeBytes { raw in
            let reader = JSONReader(raw)
            let a = "a".utf8.withContiguousStorageIfAvailable { reader.member(ofObjectAt: 0, key: UnsafeRawBufferPointer($0)) }!!
            let b = "b".utf8.withContiguousStorageIfAvailable { reader.member(ofObjectAt: a.lowerBound, key: UnsafeRawBufferPointer($0)) }!!
            let second = reader.element(ofArrayAt: b.lowerBound, position: 1)!
            #expect(reader.value(in: second) == .object([("c", .string("deep"))]))
            #expect(reader.element(ofArrayAt: b.lowerBound, position: 2) == nil)
            // An escaped key matches its decoded form.
            let ab = "ab".utf8.withContiguousStorageIfAvailable { reader.member(ofObjectAt: 0, key: UnsafeRawBufferPointer($0)) }!!
            #expect(reader.value(in: ab) == .number("2"))
        }
    }
}
