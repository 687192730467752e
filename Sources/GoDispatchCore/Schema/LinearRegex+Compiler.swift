extension LinearRegex {
    /// Turns a ``Node`` into a ``Program`` (Thompson's construction), after checking its size.
    ///
    /// The size is computed first, with saturating arithmetic, so `(a{1000}){1000}` is refused before a
    /// single instruction is emitted; since every node left by the parser emits at least one instruction
    /// per copy, emitting is then bounded by the limit too.
    struct Compiler {
        /// The program so far.
        var instructions: [Instruction] = []
        /// The classes so far.
        var sets: [ScalarSet] = []
        /// Where each class is in `sets`, so that `[a-z]{100}` stores one.
        var setIndices: [ScalarSet: Int] = [:]

        /// Compiles `node`, followed by ``Instruction/match``; refuses programs above `maxProgramSize`.
        static func compile(_ node: Node, maxProgramSize: Int) throws(LinearRegexError) -> Program {
            let size = add(size(of: node), 1)
            guard size <= maxProgramSize else { throw .programTooLarge(size: size, limit: maxProgramSize) }
            var compiler = Compiler()
            compiler.instructions.reserveCapacity(size)
            compiler.emit(node)
            compiler.instructions.append(.match)
            assert(compiler.instructions.count == size, "size(of:) and emit(_:) disagree")
            return Program(instructions: compiler.instructions, sets: compiler.sets)
        }

        /// The number of instructions ``emit(_:)`` writes for `node`, or `Int.max` if that overflows.
        static func size(of node: Node) -> Int {
            switch node {
            case .empty:
                return 0
            case .scalar, .set, .assertion:
                return 1
            case .concatenation(let nodes):
                return nodes.reduce(0) { add($0, size(of: $1)) }
            case .alternation(let nodes):
                // A split before, and a jump after, every alternative but the last.
                return nodes.reduce(2 * (nodes.count - 1)) { add($0, size(of: $1)) }
            case .repetition(let inner, let min, let max):
                let one = size(of: inner)
                guard let max else {
                    // `e*` is split, e, jump; `e{n,}` is n copies, the last followed by a split back.
                    return min == 0 ? add(one, 2) : add(multiply(one, min), 1)
                }
                // Each optional copy is a split (skip to the end) followed by the copy.
                return add(multiply(one, min), multiply(add(one, 1), max - min))
            }
        }

        /// `a + b`, or `Int.max` if it overflows.
        static func add(_ a: Int, _ b: Int) -> Int {
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? .max : sum
        }

        /// `a × b`, or `Int.max` if it overflows.
        static func multiply(_ a: Int, _ b: Int) -> Int {
            let (product, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? .max : product
        }

        /// Appends the instructions of `node`.
        mutating func emit(_ node: Node) {
            switch node {
            case .empty:
                break
            case .scalar(let scalar):
                instructions.append(.scalar(scalar))
            case .set(let set):
                if let scalar = set.single {
                    instructions.append(.scalar(scalar))
                } else {
                    instructions.append(.set(index(of: set)))
                }
            case .assertion(let assertion):
                instructions.append(.assert(assertion))
            case .concatenation(let nodes):
                for node in nodes { emit(node) }
            case .alternation(let nodes):
                var jumps: [Int] = []
                for node in nodes.dropLast() {
                    let split = placeholder()
                    emit(node)
                    jumps.append(placeholder())
                    instructions[split] = .split(split + 1, instructions.count)
                }
                emit(nodes[nodes.count - 1])
                for jump in jumps { instructions[jump] = .jump(instructions.count) }
            case .repetition(let inner, let min, nil) where min == 0:
                let split = placeholder()
                emit(inner)
                instructions.append(.jump(split))
                instructions[split] = .split(split + 1, instructions.count)
            case .repetition(let inner, let min, nil):
                for _ in 0..<min - 1 { emit(inner) }
                let last = instructions.count
                emit(inner)
                instructions.append(.split(last, instructions.count + 1))
            case .repetition(let inner, let min, let max?):
                for _ in 0..<min { emit(inner) }
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(placeholder())
                    emit(inner)
                }
                for split in splits { instructions[split] = .split(split + 1, instructions.count) }
            }
        }

        /// Appends an instruction to be patched once its target is known; returns its index.
        mutating func placeholder() -> Int {
            instructions.append(.match)
            return instructions.count - 1
        }

        /// The index of `set` in `sets`, adding it the first time.
        mutating func index(of set: ScalarSet) -> Int {
            if let index = setIndices[set] { return index }
            sets.append(set)
            setIndices[set] = sets.count - 1
            return sets.count - 1
        }
    }
}
