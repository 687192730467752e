#!/usr/bin/env bash
# Runs one scenario of the shared benchmark harness many times, rotating the servers, and reads the
# host's steal time around every run. In a lightly loaded scenario (B: the server 15-20% busy) the tail
# moves more between two runs of the same server than between servers, and a run from which the
# virtual machine's host took CPU (steal) measures the host, not the server; so compare medians of
# many runs and leave out the runs with steal.
#
#   make bench-rotate                                   # B, 5 rounds of godispatch gorilla node-ws c-limit-cork
#   SCENARIO=D ROUNDS=8 PEERS="godispatch c-limit-cork" make bench-rotate
#
# Needs the harness built once (`make bench`, or ../shared/bench/run-all.sh with BUILD_ONLY=1): its
# generator (wsbench) and peers are taken from $BENCH_WORK/bin. Server on CPU $SRV_CPU, generator on
# CPU $GEN_CPU, both at nice $NICE, as the harness's `pin` runs. Prints one line per run, then per server:
# the runs kept and the medians of p99, p99.9 and server CPU per delivery.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH_DIR="$(cd "${BENCH_DIR:-$ROOT/../shared/bench}" && pwd)"
WORK="${BENCH_WORK:-${TMPDIR:-/tmp}/godispatch-bench}"
BIN="$WORK/bin"
VENV="$WORK/.venv"
SCENARIO="${SCENARIO:-B}"
ROUNDS="${ROUNDS:-5}"
PEERS="${PEERS:-godispatch gorilla node-ws c-limit-cork}"
MAX_STEAL="${MAX_STEAL:-0.1}"    # seconds of CPU the host may take during a run (1% of it) before it is left out
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-3}"
SRV_CPU="${SRV_CPU:-1}"
GEN_CPU="${GEN_CPU:-0}"
NICE="${NICE:-0}"
PORT="${PORT:-18105}"
export NODE_PATH=/usr/share/nodejs

# The harness's scenarios (../shared/bench/run-all.sh, scenario_args), for the bench mode ones.
case "$SCENARIO" in
  A) ARGS="--mode bench --conns 1000 --rooms 1 --publishers 1 --rate 0 --window 8 --payload 128" ;;
  B) ARGS="--mode bench --conns 1000 --rooms 100 --publishers 10 --rate 2000 --payload 128" ;;
  D) ARGS="--mode bench --conns 5000 --rooms 50 --publishers 10 --rate 1000 --payload 128" ;;
  *) echo "bench-rotate: SCENARIO must be A, B or D (C measures memory: make bench)" >&2; exit 2 ;;
esac
ARGS="$ARGS --warmup $WARMUP --duration $DURATION"

command -v "$BIN/wsbench" >/dev/null || {
  echo "bench-rotate: $BIN/wsbench not found; build the harness once: BUILD_ONLY=1 $BENCH_DIR/run-all.sh" >&2
  exit 1
}

server_command() {
  case "$1" in
    godispatch) echo "$ROOT/dist/bin/godispatch serve --config $ROOT/Benchmarks/fanout.yaml --port $PORT --log-level warning" ;;
    gorilla) echo "$BIN/gorilla-peer -addr 127.0.0.1:$PORT" ;;
    nhooyr) echo "$BIN/nhooyr-peer -addr 127.0.0.1:$PORT" ;;
    node-ws) echo "node $BENCH_DIR/peers/node/server.js $PORT 127.0.0.1" ;;
    py-websockets) echo "$VENV/bin/python $BENCH_DIR/peers/python/server.py $PORT 127.0.0.1" ;;
    c-limit) echo "$BIN/climit-peer 127.0.0.1 $PORT" ;;
    c-limit-cork) echo "$BIN/climit-peer 127.0.0.1 $PORT cork" ;;
    *) echo "bench-rotate: unknown peer '$1' (godispatch gorilla nhooyr node-ws py-websockets c-limit c-limit-cork)" >&2; return 1 ;;
  esac
}

# Steal time of all CPUs so far, in clock ticks (/proc/stat, the 8th value of the "cpu" line).
steal_ticks() { awk '/^cpu /{print $9}' /proc/stat; }
TICKS_PER_S=$(getconf CLK_TCK)

LOG="$(mktemp -d "${TMPDIR:-/tmp}/bench-rotate.XXXXXX")"
RESULTS="$LOG/results.txt"
echo "# scenario $SCENARIO, $ROUNDS rounds of: $PEERS (logs in $LOG)" >&2
for round in $(seq "$ROUNDS"); do
  for peer in $PEERS; do
    command=$(server_command "$peer") || exit 2
    if ss -Hltn "sport = :$PORT" | grep -q LISTEN; then echo "bench-rotate: port $PORT is in use" >&2; exit 1; fi
    nice -n "$NICE" taskset -c "$SRV_CPU" $command >"$LOG/$peer.$round.server.log" 2>&1 &
    server=$!
    for _ in $(seq 200); do ss -Hltn "sport = :$PORT" | grep -q LISTEN && break; sleep 0.1; done
    before=$(steal_ticks)
    line=$(nice -n "$NICE" taskset -c "$GEN_CPU" "$BIN/wsbench" $ARGS --peer "$peer" \
      --url "ws://127.0.0.1:$PORT/ws" --server-pid "$server" 2>"$LOG/$peer.$round.gen.log" | grep '^RESULT')
    after=$(steal_ticks)
    kill "$server" 2>/dev/null; wait "$server" 2>/dev/null
    steal=$(awk -v t=$((after - before)) -v hz="$TICKS_PER_S" 'BEGIN{printf "%.2f", t / hz}')
    echo "$line steal_s=$steal round=$round" | tee -a "$RESULTS" | tr ' ' '\n' |
      grep -E '^(peer|p99_ms|p999_ms|srv_us_per_deliv|lost|steal_s)=' | tr '\n' ' '
    echo
  done
done

python3 - "$RESULTS" "$MAX_STEAL" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
    runs.setdefault(fields["peer"], []).append(fields)
print(f"\nmedians of the runs with at most {sys.argv[2]} s of steal:")
print(f"{'peer':14} {'kept':>5} {'p99 ms':>8} {'p99.9 ms':>9} {'srv us/deliv':>13}")
for peer, rows in runs.items():
    kept = [r for r in rows if float(r.get("steal_s", "0")) <= float(sys.argv[2])]
    def median(key):
        values = [float(r[key]) for r in kept if r.get(key, "NaN") != "NaN"]
        return f"{statistics.median(values):.3f}" if values else "-"
    print(f"{peer:14} {len(kept):>2}/{len(rows):<2} {median('p99_ms'):>8} {median('p999_ms'):>9} {median('srv_us_per_deliv'):>13}")
EOF
