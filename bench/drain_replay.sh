#!/usr/bin/env bash
# Replays one stored webhook backlog through a given banxway-server binary, so two builds can be
# compared on the same input (docs/PERFORMANCE.md, "Inbound webhooks"). Make the backlog once:
#
#   BANXWAY_BENCH_SKIP_BACKLOG=1 BANXWAY_BENCH_DIR=/tmp/wh bench/load_webhooks.sh 6
#   sqlite3 /tmp/wh/webhooks.db 'PRAGMA wal_checkpoint(TRUNCATE)'
#
# then, alternating builds:
#
#   bench/drain_replay.sh /tmp/wh/webhooks.db path/to/banxway-server [PORT]
#
# Each run copies the database, starts the server with one job worker (and the event consumers,
# message analysis among them), and reports how long it took until no webhook was pending, and
# until every message had its analysis.
set -euo pipefail
snapshot=$1
server=$2
port=${3:-18099}
dir=$(mktemp -d /tmp/banxway-drain.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp "$snapshot" "$dir/webhooks.db"
db="$dir/webhooks.db"
pending=$(sqlite3 "$db" "SELECT COUNT(*) FROM webhook_inbox WHERE status='pending'")
"$server" --db "sqlite://$db" --port "$port" --no-access-log --job-workers 1 --no-mail-watch \
  >"$dir/out" 2>"$dir/err" &
pid=$!
start=$(date +%s.%N)
while :; do
  left=$(sqlite3 "$db" "SELECT COUNT(*) FROM webhook_inbox WHERE status='pending'" 2>/dev/null || echo x)
  [ "$left" = 0 ] && break
  kill -0 "$pid" 2>/dev/null || { echo "the server exited; see $dir/err" >&2; cat "$dir/err" >&2; exit 1; }
  sleep 0.2
done
drained=$(date +%s.%N)
for _ in $(seq 1 300); do
  left=$(sqlite3 "$db" "SELECT COUNT(*) FROM messages WHERE analysis IS NULL" 2>/dev/null || echo x)
  [ "$left" = 0 ] && break
  sleep 0.2
done
analysed=$(date +%s.%N)
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
python3 -c "import sys; p,s,d,a=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]); print(f'drained {p} webhooks in {d-s:.2f} s: {p/(d-s):.0f}/s; every message analysed at {a-s:.2f} s: {p/(a-s):.0f}/s')" \
  "$pending" "$start" "$drained" "$analysed"
