import Dispatch
import Testing

@testable import GoDispatchCore

@Suite("State core")
struct StateTests {
    @Test func usersConnectionsAndRoomsStayLinked() {
        let state = InMemoryStateManager()
        let a1 = state.connect(userID: "a", permissions: ["p"], transport: TestTransport())
        let a2 = state.connect(userID: "a", permissions: ["ignored"], transport: TestTransport())
        #expect(a1.user === a2.user)
        #expect(a1.user.permissions.snapshot == ["p"], "a second connection does not reset live permissions")
        #expect(a1.user.connections.map(\.id) == [a1.id, a2.id], "oldest first")
        #expect(a1.id != a2.id)
        #expect(state.join(a1, room: "r"))
        #expect(!state.join(a1, room: "r"), "joining twice is a no-op")
        #expect(state.join(a2, room: "r"))
        #expect(state.members(ofRoom: "r").map(\.id) == [a1.id, a2.id])
        #expect(state.connection(id: a2.id) === a2)
        state.disconnect(a1)
        #expect(state.members(ofRoom: "r").map(\.id) == [a2.id])
        #expect(state.user(id: "a")?.connections.count == 1)
        #expect(!state.leave(a1, room: "r"))
        #expect(state.leave(a2, room: "r"))
        #expect(state.roomCount == 0)
        state.disconnect(a2)
        #expect(state.user(id: "a") == nil && state.connectionCount == 0)
    }

    @Test func aSnapshotIsUnaffectedByLaterJoins() {
        let state = InMemoryStateManager()
        let c = state.connect(userID: "a", permissions: [], transport: TestTransport())
        state.join(c, room: "r")
        let snapshot = state.members(ofRoom: "r")
        let d = state.connect(userID: "b", permissions: [], transport: TestTransport())
        state.join(d, room: "r")
        #expect(snapshot.count == 1)
        #expect(state.members(ofRoom: "r").count == 2)
    }

    @Test func concurrentJoinsLeavesAndReadsStayConsistent() {
        let state = InMemoryStateManager()
        let connections = (0..<64).map { state.connect(userID: "u\($0 % 8)", permissions: [], transport: TestTransport()) }
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<500 {
                let connection = connections[(worker * 8 + round) % connections.count]
                let room = "room\(round % 4)"
                if round % 3 == 2 { state.leave(connection, room: room) } else { state.join(connection, room: room) }
                _ = state.members(ofRoom: "room\((round + 1) % 4)").count
                connection.user.permissions.add(["p\(round % 5)"])
                _ = connection.user.permissions.contains("p1")
            }
        }
        // Every connection's own view agrees with the rooms' member lists.
        for room in ["room0", "room1", "room2", "room3"] {
            let members = Set(state.members(ofRoom: room).map(\.id))
            let expected = Set(connections.filter { $0.rooms.contains(room) }.map(\.id))
            #expect(members == expected)
            #expect(members.count == state.members(ofRoom: room).count, "no duplicates")
        }
        for connection in connections { state.disconnect(connection) }
        #expect(state.roomCount == 0 && state.connectionCount == 0 && state.user(id: "u0") == nil)
    }
}
