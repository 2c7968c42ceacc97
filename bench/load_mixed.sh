#!/usr/bin/env bash
# Mixed API load on banxway-server (docs/PERFORMANCE.md, "Mixed API load"): wrk -t2 -c64
# sends, in equal shares, GET a page of threads, GET a thread's messages, POST a note, GET the
# caller's notifications — as one agent (a JWT with the agent's user id) on the seeded
# 100k-thread / 1M-message store of bench_threads_list. SQLite by default; set
# BANXWAY_BENCH_DB=postgres://… (an empty database, seeded on first use) for PostgreSQL.
#
#   bench/load_mixed.sh [DURATION=20]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
build=${BANXWAY_BUILD_DIR:-build/bench}
db=${BANXWAY_BENCH_DB:-sqlite:///tmp/banxway-bench/threads.db}
port=${BANXWAY_BENCH_PORT:-18083}
dir=/tmp/banxway-bench-mixed
secret=bench-jwt-secret-0123456789abcdef0123

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBANXWAY_BUILD_TESTS=OFF \
  -DBANXWAY_BUILD_SERVER=ON -DBANXWAY_BUILD_BENCH=ON -DBANXWAY_BUILD_PYTHON=OFF \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
ninja -C "$build" banxway-server banxway_cli bench_threads_list >/dev/null
mkdir -p /tmp/banxway-bench "$dir"
org=$("$build/bench/bench_threads_list" --db "$db" --seed-only | sed 's/.*"org_id":"\([^"]*\)".*/\1/')
admin=$("$build/examples/cli/banxway" --db "$db" apikey create --org "$org" --role admin \
  | sed 's/.*"key":"\([^"]*\)".*/\1/')

JWT_SECRET=$secret "$build/examples/server/banxway-server" --db "$db" --port "$port" \
  --job-workers 0 --no-mail-watch ${BANXWAY_SERVER_ARGS:-} >"$dir/server.out" 2>"$dir/server.err" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q listening "$dir/server.out" 2>/dev/null && break
  sleep 0.1
done
base="http://127.0.0.1:$port/api/v1"
email="agent-$(date +%s%N)@bench.test"
user=$(curl -sf -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$email\",\"name\":\"Bench Agent\",\"role\":\"agent\"}" "$base/users" \
  | sed 's/.*"data":{"id":"\([^"]*\)".*/\1/')
token=$(/usr/bin/python3 - "$secret" "$user" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
p = b64(json.dumps({"sub": sys.argv[2], "exp": int(time.time()) + 86400}).encode())
s = hmac.new(sys.argv[1].encode(), (h + "." + p).encode(), hashlib.sha256).digest()
print(h + "." + p + "." + b64(s))
PY
)
# 500 thread ids from the first pages, for the per-thread requests.
ids=$(curl -sf -H "Authorization: Bearer $token" "$base/communications/threads?limit=200" \
  | grep -o '"id":"[0-9a-f-]\{36\}","subject"' | sed 's/"id":"\([^"]*\)".*/"\1"/' | head -200 | paste -sd,)
cat >"$dir/mixed.lua" <<LUA
local ids = {$ids}
wrk.headers["Authorization"] = "Bearer $token"
local n = 0
request = function()
  n = n + 1
  local id = ids[math.random(#ids)]
  local k = n % 4
  if k == 0 then
    return wrk.format("GET", "/api/v1/communications/threads?limit=50")
  elseif k == 1 then
    return wrk.format("GET", "/api/v1/communications/threads/" .. id .. "/messages?limit=50")
  elseif k == 2 then
    return wrk.format("POST", "/api/v1/communications/threads/" .. id .. "/notes",
                      {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $token"},
                      '{"text":"bench note"}')
  else
    return wrk.format("GET", "/api/v1/notifications?limit=20")
  end
end
local errors = 0
response = function(status, headers, body)
  if status >= 400 then errors = errors + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("non-2xx/3xx: %d\n", summary.errors.status))
end
LUA
echo "threads in the id sample: $(echo "$ids" | tr ',' '\n' | wc -l)"
for path in "communications/threads?limit=50" "notifications?limit=20"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base/$path")
  echo "check GET $path -> $code"
done
echo "wrk -t2 -c64 -d${duration}s --latency (mixed: list threads / thread messages / post note / notifications) on $db"
wrk -t2 -c64 -d"${duration}s" --latency -s "$dir/mixed.lua" "http://127.0.0.1:$port"
