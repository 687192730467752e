import Testing

@testable import GoDispatchCore

/// `RoomSet` keeps one room inline and a `Set` beyond: it must answer exactly as a `Set` would.
@Suite struct RoomSetTests {
    @Test func behavesAsASetThroughRandomInsertsAndRemoves() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var rooms = RoomSet()
            var model: Set<String> = []
            for _ in 0..<40 {
                let room = "room-\(Int.random(in: 0..<4, using: &generator))"
                if Bool.random(using: &generator) {
                    let inserted = rooms.insert(room)
                    #expect(inserted == model.insert(room).inserted)
                } else {
                    let removed = rooms.remove(room)
                    #expect(removed == (model.remove(room) != nil))
                }
                #expect(rooms.count == model.count)
                #expect(rooms.names == model)
                #expect(Set(rooms.list) == model && rooms.list.count == model.count)
                for probe in 0..<4 { #expect(rooms.contains("room-\(probe)") == model.contains("room-\(probe)")) }
            }
        }
    }

    @Test func goesFromOneToManyAndBackDown() {
        var rooms = RoomSet()
        let first = rooms.insert("a"), again = rooms.insert("a")
        #expect(first && !again)
        let second = rooms.insert("b")
        #expect(second && rooms.count == 2)
        let removedA = rooms.remove("a")
        #expect(removedA && rooms.names == ["b"] && rooms.count == 1, "back to one")
        let removedAAgain = rooms.remove("a")
        #expect(!removedAAgain)
        let removedB = rooms.remove("b")
        #expect(removedB && rooms.count == 0 && rooms.list.isEmpty)
    }
}
