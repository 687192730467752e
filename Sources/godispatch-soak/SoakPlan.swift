/// Everything one soak run will do, fixed before it starts: the workload's shape, its pacing, the
/// patience of every wait and the bounds the verdict applies. Timeouts are generous on purpose: the
/// machine may be small and busy, and a soak must fail on leaks and losses, not on a slow minute.
struct SoakPlan: Sendable {
    /// Connections open at the start and again at the end (stable + churners).
    var connections: Int
    /// Rooms `room-0` … `room-<rooms-1>`; stable connection `i` stays in `room-<i mod rooms>`.
    var rooms: Int
    /// Connections that churn: connect, join, publish, leave, disconnect, again and again.
    var churners: Int
    /// How long churn lasts.
    var churnDuration: Duration
    /// Messages per second published by the stable connections, all together.
    var stablePublishRate: Double
    /// How long a churner stays connected in one cycle, in seconds.
    var churnerOnline: ClosedRange<Double> = 10...30
    /// How long a churner stays away between cycles, in seconds.
    var churnerOffline: ClosedRange<Double> = 1...5
    /// Messages a churner publishes per cycle.
    var churnerMessages: ClosedRange<Int> = 1...3
    /// Connection attempts under way at once while the initial connections are opened.
    var connectConcurrency = 64

    /// The longest a WebSocket connect (TCP + upgrade) may take.
    var connectTimeout: Duration = .seconds(60)
    /// Attempts before a connection is given up (each failed attempt is counted and retried after a pause).
    var connectAttempts = 10
    /// The longest an ack (join, leave, publish) may take.
    var ackTimeout: Duration = .seconds(60)
    /// The longest the churners may take, once churn stops, to be connected and joined again.
    var reassembleTimeout: Duration = .seconds(300)
    /// The longest the publishes still under way may take to be acked once churn stops.
    var drainTimeout: Duration = .seconds(120)
    /// A pause before each measurement, so the server's event loops have run everything queued.
    var settle: Duration = .seconds(5)
    /// The longest every stable member may take to see its room's sentinel.
    var sentinelTimeout: Duration = .seconds(120)
    /// After the sentinels, how long a message missing at its member's sentinel may still arrive (it is
    /// then counted late, not lost).
    var lateGrace: Duration = .seconds(3)
    /// The longest closing every connection may take.
    var closeTimeout: Duration = .seconds(120)
    /// The longest the server may take to drop to zero connections and its idle fd count.
    var idleTimeout: Duration = .seconds(60)
    /// The longest the server may take to answer `/healthz` after it is started.
    var startTimeout: Duration = .seconds(60)
    /// The longest the server may take to exit after SIGTERM.
    var stopTimeout: Duration = .seconds(30)
    /// The time between progress lines.
    var progressInterval: Duration = .seconds(10)

    /// Bound: fds at end ≤ fds at start + this.
    var fdSlack = 32
    /// Bound: RSS at end ≤ RSS at start × this + ``rssSlack``.
    var rssFactor = 1.25
    /// Bound: RSS at end ≤ RSS at start × ``rssFactor`` + this many bytes.
    var rssSlack = 32 << 20
    /// Bound: fds after every client has gone ≤ the idle fds (before the first connection) + this.
    var idleFdSlack = 4

    /// Connections that stay connected and joined for the whole run.
    var stable: Int { connections - churners }
    /// The room of stable connection `member`.
    func room(ofStable member: Int) -> Int { member % rooms }
    /// The wire name of room `index`.
    static func roomName(_ index: Int) -> String { "room-\(index)" }
}
