extension LinearRegex {
    /// A Pike VM without captures: the live threads of the NFA, advanced together one scalar at a time.
    ///
    /// At each input position the threads form a set of instruction indices; an instruction enters a
    /// position's set at most once, and everything done at a position is paid for by such an entry, so a
    /// search takes at most `programSize × (positions)` steps. No thread ever backtracks.
    struct Machine {
        /// The program being run.
        let program: Program
        /// Instructions still to follow while computing one epsilon closure (instead of recursion).
        var pending: [Int] = []
        /// Instructions that have entered a thread list so far: the work done.
        private(set) var steps = 0

        /// A machine for `program`.
        init(_ program: Program) { self.program = program }

        /// Whether a match starts at some position of `text`; stops at the first match found.
        mutating func search(_ text: String.UnicodeScalarView) -> Bool {
            let anchored = program.isAnchoredAtStart
            var current = ThreadList(capacity: program.instructions.count)
            var next = ThreadList(capacity: program.instructions.count)
            var iterator = text.makeIterator()
            var scalar = iterator.next()
            if addThread(0, to: &current, after: nil, before: scalar) { return true }
            while let consumed = scalar {
                let following = iterator.next()
                next.removeAll()
                for index in 0..<current.count {
                    let pc = current[index]
                    let accepts: Bool
                    switch program.instructions[pc] {
                    case .scalar(let expected): accepts = consumed == expected
                    case .set(let set): accepts = program.sets[set].contains(consumed)
                    default: accepts = false  // control instructions were followed when they were added
                    }
                    if accepts, addThread(pc + 1, to: &next, after: consumed, before: following) { return true }
                }
                // A search: a match may also start here. Not if it must start at the start of the text.
                if !anchored, addThread(0, to: &next, after: consumed, before: following) { return true }
                if anchored && next.count == 0 { return false }
                swap(&current, &next)
                scalar = following
            }
            return false
        }

        /// Adds `start` and all it reaches without consuming (its epsilon closure) to `list`, at the position
        /// between `after` and `before`; true if that reaches ``Instruction/match``.
        mutating func addThread(
            _ start: Int, to list: inout ThreadList, after: Unicode.Scalar?, before: Unicode.Scalar?
        ) -> Bool {
            pending.append(start)
            while let pc = pending.popLast() {
                guard !list.contains(pc) else { continue }
                list.insert(pc)
                steps += 1
                switch program.instructions[pc] {
                case .match:
                    pending.removeAll(keepingCapacity: true)
                    return true
                case .jump(let target):
                    pending.append(target)
                case .split(let first, let second):
                    pending.append(second)
                    pending.append(first)
                case .assert(let assertion):
                    if Self.holds(assertion, after: after, before: before) { pending.append(pc + 1) }
                case .scalar, .set:
                    break  // waits in the list for the next scalar
                }
            }
            return false
        }

        /// Whether `assertion` holds between `after` and `before` (nil: the start or end of the text).
        static func holds(_ assertion: Assertion, after: Unicode.Scalar?, before: Unicode.Scalar?) -> Bool {
            switch assertion {
            case .start: return after == nil
            case .end: return before == nil
            case .wordBoundary: return isWord(after) != isWord(before)
            case .notWordBoundary: return isWord(after) == isWord(before)
            }
        }

        /// Whether `scalar` is a `\w` character; the ends of the text are not.
        static func isWord(_ scalar: Unicode.Scalar?) -> Bool {
            guard let value = scalar?.value else { return false }
            return (0x30...0x39).contains(value) || (0x41...0x5A).contains(value) || value == 0x5F
                || (0x61...0x7A).contains(value)
        }
    }

    /// A set of instruction indices with O(1) insert, membership and clearing (a sparse set), in insertion order.
    struct ThreadList {
        /// The members, in insertion order; only the first `count` are meaningful.
        private var dense: [Int32]
        /// For a member `pc`, its index in `dense`; anything for the others.
        private var sparse: [Int32]
        /// How many members there are.
        private(set) var count = 0

        /// An empty set for indices below `capacity`.
        init(capacity: Int) {
            dense = Array(repeating: 0, count: capacity)
            sparse = Array(repeating: 0, count: capacity)
        }

        /// The member inserted `index`-th.
        subscript(index: Int) -> Int { Int(dense[index]) }

        /// Whether `pc` is a member.
        func contains(_ pc: Int) -> Bool {
            let index = Int(sparse[pc])
            return index < count && dense[index] == pc
        }

        /// Adds `pc`, which must not be a member.
        mutating func insert(_ pc: Int) {
            sparse[pc] = Int32(count)
            dense[count] = Int32(pc)
            count += 1
        }

        /// Removes every member, without touching the storage.
        mutating func removeAll() { count = 0 }
    }
}
