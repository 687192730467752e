/// A glob over characters: `*` matches any run (also empty), `?` exactly one; everything else itself.
/// Matching is linear in practice (greedy with one backtrack point), never exponential.
public struct Glob: Sendable, Equatable {
    private let pattern: [Character]

    /// The glob `text`.
    public init(_ text: String) { pattern = Array(text) }

    /// Whether `text` matches the whole pattern.
    public func matches(_ text: String) -> Bool {
        let subject = Array(text)
        var (p, s) = (0, 0)
        var star: Int?
        var resume = 0
        while s < subject.count {
            if p < pattern.count, pattern[p] == "?" || (pattern[p] != "*" && pattern[p] == subject[s]) {
                p += 1
                s += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                resume = s
                p += 1
            } else if let starAt = star {
                p = starAt + 1
                resume += 1
                s = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
