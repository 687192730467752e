/// A strict reader of the Prometheus text format (0.0.4) as the server renders it: every line is
/// `# HELP name text`, `# TYPE name type`, or `name{label="value",…} value` (no timestamps); a family's
/// `# TYPE` comes once, before its samples; a histogram's samples are `_bucket` (with `le`), `_sum` and
/// `_count`; no series appears twice.
struct PrometheusText {
    /// One sample line.
    struct Sample: Equatable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    struct ParseError: Error, CustomStringConvertible {
        let line: Int
        let message: String
        var description: String { "line \(line): \(message)" }
    }

    let samples: [Sample]
    let types: [String: String]

    init(_ text: String) throws {
        var samples: [Sample] = []
        var types: [String: String] = [:]
        var seen: Set<String> = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count >= 3, parts[0] == "#", parts[1] == "HELP" || parts[1] == "TYPE",
                    Self.isMetricName(parts[2])
                else { throw ParseError(line: number, message: "bad comment `\(line)`") }
                if parts[1] == "TYPE" {
                    let type = parts.count == 4 ? String(parts[3]) : ""
                    guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(type) else {
                        throw ParseError(line: number, message: "bad type `\(type)`")
                    }
                    guard types.updateValue(type, forKey: String(parts[2])) == nil else {
                        throw ParseError(line: number, message: "second # TYPE for \(parts[2])")
                    }
                }
                continue
            }
            var reader = Substring(line)
            let name = reader.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
            guard Self.isMetricName(name) else { throw ParseError(line: number, message: "bad name in `\(line)`") }
            reader = reader.dropFirst(name.count)
            var labels: [String: String] = [:]
            if reader.first == "{" {
                reader = reader.dropFirst()
                while reader.first != "}" {
                    let label = reader.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                    guard !label.isEmpty, !label.first!.isNumber else {
                        throw ParseError(line: number, message: "bad label name in `\(line)`")
                    }
                    reader = reader.dropFirst(label.count)
                    guard reader.hasPrefix("=\"") else {
                        throw ParseError(line: number, message: "expected =\" in `\(line)`")
                    }
                    reader = reader.dropFirst(2)
                    var value = ""
                    while true {
                        guard let character = reader.popFirst() else {
                            throw ParseError(line: number, message: "unterminated label value in `\(line)`")
                        }
                        if character == "\"" { break }
                        if character == "\\" {
                            switch reader.popFirst() {
                            case "\\": value.append("\\")
                            case "\"": value.append("\"")
                            case "n": value.append("\n")
                            default: throw ParseError(line: number, message: "bad escape in `\(line)`")
                            }
                        } else {
                            value.append(character)
                        }
                    }
                    guard labels.updateValue(value, forKey: String(label)) == nil else {
                        throw ParseError(line: number, message: "label \(label) twice in `\(line)`")
                    }
                    if reader.first == "," { reader = reader.dropFirst() } else if reader.first != "}" {
                        throw ParseError(line: number, message: "expected , or } in `\(line)`")
                    }
                }
                reader = reader.dropFirst()
            }
            guard reader.first == " " else {
                throw ParseError(line: number, message: "expected one space in `\(line)`")
            }
            reader = reader.dropFirst()
            let value: Double?
            switch reader {
            case "+Inf": value = .infinity
            case "-Inf": value = -.infinity
            case "NaN": value = .nan
            default: value = reader.contains(" ") || reader.isEmpty ? nil : Double(reader)
            }
            guard let value else { throw ParseError(line: number, message: "bad value in `\(line)`") }
            let family = try Self.family(of: String(name), labels: labels, types: types, line: number)
            guard types[family] != nil else {
                throw ParseError(line: number, message: "\(name) has no # TYPE before it")
            }
            let sorted = labels.sorted { $0.key < $1.key }
            let labelText: String = sorted.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            let key = "\(name){\(labelText)}"
            guard seen.insert(key).inserted else { throw ParseError(line: number, message: "series \(key) twice") }
            samples.append(Sample(name: String(name), labels: labels, value: value))
        }
        self.samples = samples
        self.types = types
    }

    /// The value of the one series `name` with exactly `labels`, if present.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// Every value the label `label` takes in any series.
    func labelValues(_ label: String) -> Set<String> { Set(samples.compactMap { $0.labels[label] }) }

    private static func isMetricName(_ name: Substring) -> Bool {
        guard let first = name.first, first.isLetter || first == "_" || first == ":" else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == ":" }
    }

    private static func family(
        of name: String, labels: [String: String], types: [String: String], line: Int
    ) throws -> String {
        if types[name] != nil, types[name] != "histogram" { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let family = String(name.dropLast(suffix.count))
            guard types[family] == "histogram" || types[family] == "summary" else { continue }
            if suffix == "_bucket", labels["le"] == nil { throw ParseError(line: line, message: "\(name) without le") }
            return family
        }
        return name
    }
}
