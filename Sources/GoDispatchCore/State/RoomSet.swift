/// The rooms one connection is in. Most connections are in one room or none, so one name is kept inline
/// (no allocation beyond the name's own); a `Set` is made only for a second room, and kept from then on
/// (a connection that moves between rooms beside a room it stays in reuses it instead of making one per
/// join).
struct RoomSet: Sendable {
    private enum Storage: Sendable {
        case empty
        case one(String)
        case many(Set<String>)
    }

    private var storage: Storage = .empty

    /// No rooms.
    init() {}

    /// How many rooms.
    var count: Int {
        switch storage {
        case .empty: 0
        case .one: 1
        case .many(let names): names.count
        }
    }

    /// Whether `room` is one of them.
    func contains(_ room: String) -> Bool {
        switch storage {
        case .empty: false
        case .one(let name): name == room
        case .many(let names): names.contains(room)
        }
    }

    /// Adds `room`; false if it was already there.
    mutating func insert(_ room: String) -> Bool {
        switch storage {
        case .empty:
            storage = .one(room)
            return true
        case .one(let name):
            guard name != room else { return false }
            storage = .many([name, room])
            return true
        case .many(var names):
            storage = .empty  // let go of the set so the insert below does not copy it
            let inserted = names.insert(room).inserted
            storage = .many(names)
            return inserted
        }
    }

    /// Removes `room`; false if it was not there.
    mutating func remove(_ room: String) -> Bool {
        switch storage {
        case .empty:
            return false
        case .one(let name):
            guard name == room else { return false }
            storage = .empty
            return true
        case .many(var names):
            storage = .empty
            let removed = names.remove(room) != nil
            storage = .many(names)
            return removed
        }
    }

    /// The rooms as a `Set`.
    var names: Set<String> {
        switch storage {
        case .empty: []
        case .one(let name): [name]
        case .many(let names): names
        }
    }

    /// The rooms as an array, in no particular order.
    var list: [String] {
        switch storage {
        case .empty: []
        case .one(let name): [name]
        case .many(let names): Array(names)
        }
    }
}
