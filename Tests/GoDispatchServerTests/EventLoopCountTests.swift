import Foundation
@testable import GoDispatchServer
import NIOCore
import Testing

@Suite("Event loops follow the CPUs the process may run on")
struct EventLoopCountTests {
    @Test func theAffinityMaskOfProcStatusIsCounted() {
        #expect(EventLoopCount.cpusAllowed(inStatus: "Name:\tx\nCpus_allowed:\t2\nCpus_allowed_list:\t1\n") == 1)
        #expect(EventLoopCount.cpusAllowed(inStatus: "Cpus_allowed:\t00000000,0000000f\n") == 4)
        #expect(EventLoopCount.cpusAllowed(inStatus: "Cpus_allowed:\tff,ffffffff\n") == 40)
        #expect(EventLoopCount.cpusAllowed(inStatus: "Name:\tx\n") == nil)
        #expect(EventLoopCount.cpusAllowed(inStatus: "Cpus_allowed:\t0\n") == nil)
    }

    @Test func thisProcessGetsOneLoopPerAllowedCPUAndNoMoreThanTheMachineHas() throws {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let allowed = try #require(EventLoopCount.cpusAllowed(inStatus: status))
        #expect(EventLoopCount.forThisProcess == min(allowed, System.coreCount))
        #expect(EventLoopCount.forThisProcess >= 1)
    }
}
