/// A place in a configuration file.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    /// The file's path as given.
    public let file: String
    /// 1-based line.
    public let line: Int
    /// 1-based column.
    public let column: Int

    /// Creates a location.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One configuration problem, with where it is and what to do.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the problem is.
    public let location: SourceLocation
    /// What is wrong and how to fix it.
    public let message: String

    /// Creates an error.
    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): error: \(message)" }
}

/// Every problem found in a configuration; start-up stops if there is any.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    /// The problems, in file order.
    public let errors: [ConfigError]

    /// Wraps a list of errors.
    public init(_ errors: [ConfigError]) { self.errors = errors }

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
