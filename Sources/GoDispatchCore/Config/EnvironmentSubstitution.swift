/// Replaces `${VAR}` and `${VAR:-default}` in configuration strings; `$${` writes a literal `${`.
public struct EnvironmentSubstitution: Sendable {
    /// The variables to read.
    public let environment: [String: String]

    /// Reads from `environment`.
    public init(environment: [String: String]) { self.environment = environment }

    /// Substitutes every reference in `text`, or explains which variable is missing.
    public func apply(to text: String) throws(TemplateError) -> String {
        guard text.contains("$") else { return text }
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let afterDollar = rest[rest.index(after: dollar)...]
            if afterDollar.hasPrefix("${") {  // `$${` escapes
                output += "${"
                rest = afterDollar.dropFirst(2)
                continue
            }
            guard afterDollar.hasPrefix("{") else {
                output += "$"
                rest = afterDollar
                continue
            }
            guard let close = afterDollar.firstIndex(of: "}") else {
                throw TemplateError(message: "`${` without a closing `}`")
            }
            let body = afterDollar[afterDollar.index(after: afterDollar.startIndex)..<close]
            let name: Substring
            let fallback: Substring?
            if let marker = body.range(of: ":-") {
                name = body[..<marker.lowerBound]
                fallback = body[marker.upperBound...]
            } else {
                name = body
                fallback = nil
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw TemplateError(message: "`${\(body)}` is not a variable name; write ${NAME} or ${NAME:-default}")
            }
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                output += value
            } else if let fallback {
                output += fallback
            } else {
                throw TemplateError(
                    message: "environment variable \(name) is not set; set it or write ${\(name):-default}")
            }
            rest = afterDollar[afterDollar.index(after: close)...]
        }
        output += rest
        return output
    }
}
