import GoDispatchRedis

/// The Lua scripts a cluster runs: each a multi-key operation that must happen atomically.
enum RedisScripts {
    /// A node's heartbeat: records it alive (Redis' own clock, so nodes' clocks never matter), drops nodes
    /// silent for longer than ARGV[3] ms, and returns every live node as name, description pairs.
    /// KEYS: nodes hash, nodes-alive zset. ARGV: name, description JSON, silence limit (ms).
    static let heartbeat = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        redis.call('ZADD', KEYS[2], now, ARGV[1])
        local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - tonumber(ARGV[3])))
        for _, name in ipairs(dead) do
          redis.call('HDEL', KEYS[1], name)
          redis.call('ZREM', KEYS[2], name)
        end
        local out = {}
        for _, name in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
          table.insert(out, name)
          table.insert(out, redis.call('HGET', KEYS[1], name) or '{}')
        end
        return out
        """)

    /// Admits a connection of a user under `connections.per_user_limit`, atomically across nodes.
    /// Entries of nodes not in ARGV[6] (the live nodes, newline-separated) older than ARGV[5] ms are a
    /// crashed node's and are dropped first. Returns `{1}` (admitted), `{0}` (refused: `reject`), or
    /// `{2, evicted...}` (admitted, `cycle`: the oldest entries, removed, whose connections must close).
    /// KEYS: the user's connections zset. ARGV: limit, strategy, member (`<id>|<node>`), unused, grace (ms),
    /// live nodes.
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
          if node and not live[node] and since < now - grace then
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
