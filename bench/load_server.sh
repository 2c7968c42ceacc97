#!/usr/bin/env bash
# Load test of banxway-server on loopback: wrk -t2 -c64 against GET
# /api/v1/communications/threads (a page of 50) on the seeded 100k-thread / 1M-message SQLite
# store that bench_threads_list creates. Bounded: one run of DURATION seconds, then it stops.
#
#   bench/load_server.sh [DURATION=20] [PATH_AND_QUERY=/api/v1/communications/threads]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
path=${2:-/api/v1/communications/threads}
build=${BANXWAY_BUILD_DIR:-build/bench}
db=${BANXWAY_BENCH_DB:-sqlite:///tmp/banxway-bench/threads.db}
port=${BANXWAY_BENCH_PORT:-18080}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBANXWAY_BUILD_TESTS=OFF \
  -DBANXWAY_BUILD_SERVER=ON -DBANXWAY_BUILD_BENCH=ON -DBANXWAY_BUILD_PYTHON=OFF \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
ninja -C "$build" banxway-server banxway_cli bench_threads_list >/dev/null
mkdir -p /tmp/banxway-bench
org=$("$build/bench/bench_threads_list" --db "$db" --seed-only | sed 's/.*"org_id":"\([^"]*\)".*/\1/')
key=$("$build/examples/cli/banxway" --db "$db" apikey create --org "$org" --role viewer \
  | sed 's/.*"key":"\([^"]*\)".*/\1/')

"$build/examples/server/banxway-server" --db "$db" --port "$port" ${BANXWAY_SERVER_ARGS:-} >/tmp/banxway-bench/server.out \
  2>/tmp/banxway-bench/server.err &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q listening /tmp/banxway-bench/server.out 2>/dev/null && break
  sleep 0.1
done
curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port$path" | head -c 200; echo
echo "wrk -t2 -c64 -d${duration}s --latency http://127.0.0.1:$port$path"
wrk -t2 -c64 -d"${duration}s" --latency -H "Authorization: Bearer $key" "http://127.0.0.1:$port$path"
