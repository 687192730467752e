import GoDispatchRedis

/// The Lua scripts a cluster runs: each a multi-key operation that must happen atomically.
enum RedisScripts {
    /// Every script, loaded into Redis whenever the command connection comes up (so a first use costs
    /// no `NOSCRIPT` round trip; `RedisScript` still reloads one that Redis forgot).
    static var all: [RedisScript] {
        [heartbeat, publishHistory, readHistory, presenceChange, removeNodePresence, claimIdempotencyKey, admit]
    }

    /// A node's heartbeat: records it alive (Redis' own clock, so nodes' clocks never matter), drops nodes
    /// silent for longer than ARGV[3] ms — unless this node itself was (a Redis outage silences everyone) —
    /// and returns how many it dropped, their names, then every live node as name, description pairs (only
    /// this call reports a dropped node: it cleans up after it).
    /// KEYS: nodes hash, nodes-alive zset. ARGV: name, description JSON, silence limit (ms).
    static let heartbeat = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local previous = redis.call('ZSCORE', KEYS[2], ARGV[1])
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('ZADD', KEYS[2], now, ARGV[1])
        -- Back from an outage of its own (or the first beat): the others may have been cut off as well,
        -- so nobody is judged by silence until they have had a heartbeat's chance to report.
        local dead = {}
        if previous and tonumber(previous) >= now - tonumber(ARGV[3]) then
          dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - tonumber(ARGV[3])))
        end
        local out = {#dead}
        for _, name in ipairs(dead) do
          redis.call('HDEL', KEYS[1], name)
          redis.call('ZREM', KEYS[2], name)
          table.insert(out, name)
        end
        for _, name in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
          table.insert(out, name)
          table.insert(out, redis.call('HGET', KEYS[1], name) or '{}')
        end
        return out
        """)

    /// Appends a frame to a room's history and publishes it, in one step, so history and live delivery
    /// never disagree: numbers it (`top` + 1, in the epoch kept beside the stream, created with ARGV[6]
    /// when missing — so a wiped Redis starts a new epoch), inserts `"offset"` and `"epoch"` before the
    /// frame's closing brace, `XADD`s it (trimmed to ARGV[4] frames), refreshes both keys' expiry
    /// (ARGV[5] ms) and `PUBLISH`es `<ARGV[2]> <offset> <ARGV[7]> <epoch>\n<numbered frame>` on ARGV[1]. Returns
    /// {offset, epoch}. KEYS: stream, meta. ARGV: channel, excluded id (`-`: none), frame, size, ttl (ms),
    /// new epoch, echo token (`-`: none).
    static let publishHistory = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        if redis.call('HSETNX', KEYS[2], 'epoch', ARGV[6]) == 1 then
          -- A new epoch: whatever a stream still holds belongs to a lost one.
          redis.call('DEL', KEYS[1])
        end
        local epoch = redis.call('HGET', KEYS[2], 'epoch')
        local top = redis.call('HINCRBY', KEYS[2], 'top', 1)
        local frame = string.sub(ARGV[3], 1, -2) .. ',"offset":' .. top .. ',"epoch":"' .. epoch .. '"}'
        redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[4], top .. '-0', 't', now, 'f', frame)
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        redis.call('PEXPIRE', KEYS[2], ARGV[5])
        redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. top .. ' ' .. ARGV[7] .. ' ' .. epoch .. '\\n' .. frame)
        return {top, epoch}
        """)

    /// Reads a room's position and frames, dropping frames older than the ttl. Creates the epoch when the
    /// room has none yet (with ARGV[1], expiring after ARGV[2] ms). ARGV[3]: offset to read after (or,
    /// reversed, before); -1: from the end. ARGV[4]: how many (0: none, -1: all). ARGV[5]: 1 to read newest
    /// first. Returns {epoch, top, offset, frame, offset, frame, …}. KEYS: stream, meta.
    static let readHistory = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        if redis.call('HSETNX', KEYS[2], 'epoch', ARGV[1]) == 1 then
          redis.call('PEXPIRE', KEYS[2], ARGV[2])
          redis.call('DEL', KEYS[1])
        end
        local epoch = redis.call('HGET', KEYS[2], 'epoch')
        local top = tonumber(redis.call('HGET', KEYS[2], 'top') or '0')
        local out = {epoch, top}
        local limit = tonumber(ARGV[4])
        if limit == 0 then return out end
        local since = tonumber(ARGV[3])
        local entries
        if ARGV[5] == '1' then
          local hi = '+'
          if since >= 0 then hi = '(' .. since .. '-0' end
          if limit > 0 then
            entries = redis.call('XREVRANGE', KEYS[1], hi, '-', 'COUNT', limit)
          else
            entries = redis.call('XREVRANGE', KEYS[1], hi, '-')
          end
        else
          -- Expired entries come first: read them all (a stream holds at most `size`), then count.
          local lo = '-'
          if since >= 0 then lo = '(' .. since .. '-0' end
          entries = redis.call('XRANGE', KEYS[1], lo, '+')
        end
        local oldest = now - tonumber(ARGV[2])
        local taken = 0
        for _, entry in ipairs(entries) do
          local fields = entry[2]
          if tonumber(fields[2]) > oldest then
            table.insert(out, tonumber(string.match(entry[1], '^(%d+)')))
            table.insert(out, fields[4])
            taken = taken + 1
            if limit > 0 and taken >= limit then break end
          end
        end
        return out
        """)

    /// Claims an idempotency key: `{1}` when this call set it (empty, expiring after ARGV[1] ms), else
    /// `{0, <recorded result>}`. KEYS: the key.
    static let claimIdempotencyKey = RedisScript(
        """
        if redis.call('SET', KEYS[1], '', 'NX', 'PX', ARGV[1]) then return {1} end
        return {0, redis.call('GET', KEYS[1]) or ''}
        """)

    /// Adds (ARGV[2] set) or removes (empty) a connection's presence entry ARGV[1] and, when that changed
    /// the hash, publishes ARGV[4] on the room's channel ARGV[3]. KEYS: the room's presence hash.
    static let presenceChange = RedisScript(
        """
        local changed
        if ARGV[2] ~= '' then
          changed = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) >= 0
        else
          changed = redis.call('HDEL', KEYS[1], ARGV[1]) == 1
        end
        if changed then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
        return 1
        """)

    /// Removes every presence entry of node ARGV[1] from a room's hash, publishing each removal on the
    /// room's channel ARGV[2]; returns how many. KEYS: the room's presence hash.
    static let removeNodePresence = RedisScript(
        """
        local all = redis.call('HGETALL', KEYS[1])
        local removed = 0
        for i = 1, #all, 2 do
          local ok, entry = pcall(cjson.decode, all[i + 1])
          if ok and entry.n == ARGV[1] then
            redis.call('HDEL', KEYS[1], all[i])
            redis.call('PUBLISH', ARGV[2], '!\\n' .. cjson.encode({op = '-', c = all[i], u = entry.u, n = ARGV[1]}))
            removed = removed + 1
          end
        end
        return removed
        """)

    /// Admits a connection of a user under `connections.per_user_limit`, atomically across nodes.
    /// Entries of nodes not in ARGV[6] (the live nodes, newline-separated) older than ARGV[5] ms are a
    /// crashed node's and are dropped first. Returns `{1}` (admitted), `{0}` (refused: `reject`), or
    /// `{2, evicted...}` (admitted, `cycle`: the oldest entries, removed, whose connections must close).
    /// KEYS: the user's connections zset. ARGV: limit, strategy, member (`<id>|<node>`), `1` when the live
    /// nodes are known (a heartbeat listed them; else nothing is dropped), grace (ms), live nodes.
    static let admit = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local live = {}
        for name in string.gmatch(ARGV[6], '[^\\n]+') do live[name] = true end
        local grace = tonumber(ARGV[5])
        local kept = {}
        local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
        for i = 1, #all, 2 do
          local member, since = all[i], tonumber(all[i + 1])
          local node = string.match(member, '|(.*)$')
          if ARGV[4] == '1' and node and not live[node] and since < now - grace then
            redis.call('ZREM', KEYS[1], member)
          else
            table.insert(kept, member)
          end
        end
        local limit = tonumber(ARGV[1])
        if #kept < limit then
          redis.call('ZADD', KEYS[1], now, ARGV[3])
          return {1}
        end
        if ARGV[2] == 'reject' then return {0} end
        local out = {2}
        for i = 1, #kept - limit + 1 do
          redis.call('ZREM', KEYS[1], kept[i])
          table.insert(out, kept[i])
        end
        redis.call('ZADD', KEYS[1], now, ARGV[3])
        return out
        """)
}
