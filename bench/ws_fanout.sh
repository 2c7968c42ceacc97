#!/usr/bin/env bash
# Realtime fan-out of banxway-server on loopback (docs/PERFORMANCE.md, "Realtime"):
#   1. CLIENTS WebSocket clients over ORGS organizations (each subscribed to its org room) while
#      RATE messages/s are ingested over HTTP for DURATION seconds: ingest-to-client latency;
#   2. IDLE idle connections held open: the server's resident memory before and after.
# SQLite in a fresh directory (BANXWAY_BENCH_DIR, default /tmp/banxway-bench-ws), Release build, job workers
# and mail watching off so only HTTP ingest and the live feed run. BANXWAY_SERVER_BIN runs another
# server binary (A/B comparisons); BANXWAY_SERVER_ARGS adds server options; BANXWAY_BENCH_PRESQL
# runs SQL on the fresh database before the server starts (diagnostics, e.g. dropping triggers).
#
#   bench/ws_fanout.sh [CLIENTS=1000] [RATE=1000] [DURATION=10] [ORGS=50] [IDLE=10000]
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-1000}
rate=${2:-1000}
duration=${3:-10}
orgs=${4:-50}
idle=${5:-10000}
build=${BANXWAY_BUILD_DIR:-build/bench}
dir=${BANXWAY_BENCH_DIR:-/tmp/banxway-bench-ws}
port=${BANXWAY_BENCH_PORT:-18082}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBANXWAY_BUILD_TESTS=OFF \
  -DBANXWAY_BUILD_SERVER=ON -DBANXWAY_BUILD_BENCH=ON -DBANXWAY_BUILD_PYTHON=OFF \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
ninja -C "$build" banxway-server banxway_cli bench_ws_fanout >/dev/null
rm -rf "$dir" && mkdir -p "$dir"
db="sqlite://$dir/ws.db"
cli="$build/examples/cli/banxway"
: >"$dir/keys"
for i in $(seq 1 "$orgs"); do
  org=$("$cli" --db "$db" org create "Fan-out org $i" | sed 's/.*"id":"\([^"]*\)".*/\1/')
  "$cli" --db "$db" apikey create --org "$org" --role agent \
    | sed 's/.*"key":"\([^"]*\)".*/\1/' >>"$dir/keys"
done

[ -n "${BANXWAY_BENCH_PRESQL:-}" ] && /usr/bin/python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$dir/ws.db" "$BANXWAY_BENCH_PRESQL"
start_server() {
  "${BANXWAY_SERVER_BIN:-$build/examples/server/banxway-server}" --db "$db" --port "$port" --job-workers 0 \
    --no-mail-watch --no-access-log --max-connections 15000 ${BANXWAY_SERVER_ARGS:-} >"$dir/server.out" 2>"$dir/server.err" &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q listening "$dir/server.out" 2>/dev/null && return
    sleep 0.1
  done
  echo "server did not start" >&2
  exit 1
}
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
# CPU seconds (user + system) a process has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }

start_server
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
echo "== fan-out: $clients clients, $orgs orgs, $rate msg/s for $duration s"
server_cpu0=$(cpu_s $pid)
t0=$(date +%s.%N)
/usr/bin/time -f "load client CPU: user %U s + sys %S s" \
  "$build/bench/bench_ws_fanout" --port "$port" --keys "$dir/keys" --clients "$clients" \
  --rate "$rate" --duration "$duration"
awk -v a="$server_cpu0" -v b="$(cpu_s $pid)" -v t0="$t0" -v t1="$(date +%s.%N)" \
  'BEGIN {printf "server CPU: %.2f s over %.1f s (%.2f cores)\n", b - a, t1 - t0, (b - a) / (t1 - t0)}'
kill -TERM $pid; wait $pid || true

start_server
sleep 1
before=$(rss_mb $pid)
echo "== idle: $idle connections; server RSS before: $before MB"
"$build/bench/bench_ws_fanout" --port "$port" --keys "$dir/keys" --clients "$idle" --idle 10 \
  >"$dir/idle.out" &
bpid=$!
for _ in $(seq 1 240); do
  grep -q "holding" "$dir/idle.out" 2>/dev/null && break
  sleep 0.5
done
sleep 2
cat "$dir/idle.out"
echo "server RSS with $idle idle connections: $(rss_mb $pid) MB (open fds: $(ls /proc/$pid/fd | wc -l))"
wait $bpid
