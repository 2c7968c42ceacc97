#!/usr/bin/env bash
# Inbound webhook throughput of banxway-server on loopback (docs/PERFORMANCE.md, "Webhooks"):
# wrk -t2 -c64 POSTs Exotel WhatsApp inbound messages (a new message id per request) to
# /api/v1/webhooks/exotel/whatsapp/<token> on a fresh SQLite database, with the job workers
# off, so the acknowledgement path (authenticate, store, queue) is measured alone; then the
# backlog is processed by one `banxway-server` job worker (no HTTP load) and timed.
#
#   bench/load_webhooks.sh [DURATION=20] [RATE]
#
# Without RATE, wrk runs closed-loop (each connection sends as fast as answers come: the
# throughput ceiling). With RATE (requests/s), every connection pauses 64000/RATE ms between
# requests (wrk's delay(); latency excludes the pause), so the server is measured at that
# offered load instead of at saturation.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
rate=${2:-}
build=${BANXWAY_BUILD_DIR:-build/bench}
dir=${BANXWAY_BENCH_DIR:-/tmp/banxway-bench-webhooks}
port=${BANXWAY_BENCH_PORT:-18081}
workers=${BANXWAY_BENCH_JOB_WORKERS:-1}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBANXWAY_BUILD_TESTS=OFF \
  -DBANXWAY_BUILD_SERVER=ON -DBANXWAY_BUILD_BENCH=ON -DBANXWAY_BUILD_PYTHON=OFF \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
ninja -C "$build" banxway-server banxway_cli >/dev/null
rm -rf "$dir" && mkdir -p "$dir"
db="sqlite://$dir/webhooks.db"
cli="$build/examples/cli/banxway"
server="$build/examples/server/banxway-server"

org=$("$cli" --db "$db" org create "Webhook bench" | sed 's/.*"id":"\([^"]*\)".*/\1/')
params='{"channel":"whatsapp","provider":"exotel","name":"bench","config":{"account_sid":"acme1","from":"+919000000001"},"secrets":{"api_key":"k","api_token":"t"}}'
token=$("$cli" --db "$db" call channels.create "$params" --org "$org" \
  | sed 's/.*"webhook_token":"\([^"]*\)".*/\1/')

cat >"$dir/post.lua" <<'LUA'
-- A distinct inbound message per request (thread-local counter + wrk thread number).
local counter = 0
local threads_made = 0
setup = function(thread) threads_made = threads_made + 1; thread:set("wrk_thread", threads_made) end
request = function()
  counter = counter + 1
  local sid = string.format("bench-%d-%d", wrk_thread or 0, counter)
  local phone = string.format("+9198%08d", counter % 5000)
  local body = '{"whatsapp":{"messages":[{"callback_type":"incoming_message","sid":"' .. sid ..
    '","from":"' .. phone .. '","to":"+919000000001","profile_name":"Bench","timestamp":' ..
    '"2026-11-27T10:00:00+05:30","content":{"type":"text","text":{"body":"Where is container ' ..
    'MSCU1234565 for booking BKG' .. counter .. '?"}}}]}}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
LUA
if [ -n "$rate" ]; then
  echo "delay = function() return $((64000 / rate)) end" >>"$dir/post.lua"
fi

run_server() {  # $1 = job workers
  "$server" --db "$db" --port "$port" --no-access-log --job-workers "$1" --no-mail-watch \
    >"$dir/server.out" 2>"$dir/server.err" &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q listening "$dir/server.out" 2>/dev/null && break
    sleep 0.1
  done
}

echo "== acknowledgement: wrk -t2 -c64 -d${duration}s${rate:+ at about $rate requests/s}, job workers off"
run_server 0
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
wrk -t2 -c64 -d"${duration}s" --latency -s "$dir/post.lua" \
  "http://127.0.0.1:$port/api/v1/webhooks/exotel/whatsapp/$token"
kill -TERM $pid; wait $pid 2>/dev/null || true
[ "${BANXWAY_BENCH_SKIP_BACKLOG:-0}" = 1 ] && exit 0

pending=$(sqlite3 "$dir/webhooks.db" "SELECT COUNT(*) FROM webhook_inbox WHERE status='pending'")
echo "== backlog: $pending stored webhooks, processed by $workers job worker(s)"
run_server "$workers"
start=$(date +%s.%N)
while :; do
  left=$(sqlite3 "$dir/webhooks.db" "SELECT COUNT(*) FROM webhook_inbox WHERE status='pending'" 2>/dev/null || echo "$pending")
  [ "$left" = 0 ] && break
  sleep 0.2
done
end=$(date +%s.%N)
msgs=$(sqlite3 "$dir/webhooks.db" "SELECT COUNT(*) FROM messages")
failed=$(sqlite3 "$dir/webhooks.db" "SELECT COUNT(*) FROM webhook_inbox WHERE status='failed'")
python3 -c "import sys; p,s,e=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print(f'processed {p} webhooks in {e-s:.2f} s: {p/(e-s):.0f}/s')" "$pending" "$start" "$end"
echo "messages stored: $msgs, failed webhooks: $failed"
