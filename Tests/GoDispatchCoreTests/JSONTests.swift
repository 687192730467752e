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

@Suite("JSON reader and writer")
struct JSONTests {
    @Test("the JSONTestSuite corpus is present (set GODISPATCH_JSON_CORPUS to point elsewhere)")
    func corpusPresent() {
        #expect(
            JSONCorpus.directory != nil,
            "JSONTestSuite corpus not found beside the repository at ../shared/testdata/JSONTestSuite/test_parsing")
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
