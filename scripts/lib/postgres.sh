# shellcheck shell=bash
# A private, throw-away PostgreSQL cluster for tests. Source this file, then:
#
#   pg_start   # initdb + start on 127.0.0.1; exports BANXWAY_TEST_PG_URL
#   ...        # run tests
#   pg_stop    # stop the server and delete its directory
#
# BANXWAY_PG_PORT picks the first port to try (default 55432); if something already listens
# there (say, a cluster left over from an interrupted run), the next free port is used.
# initdb refuses to run as root, so as root the server runs as the `postgres` user.
# fsync=off makes tests fast and is never acceptable for real data.

# The newest installed server binaries, unless BANXWAY_PG_BIN says otherwise.
_pg_bindir() {
  if [[ -n "${BANXWAY_PG_BIN:-}" ]]; then
    echo "$BANXWAY_PG_BIN"
    return
  fi
  local d
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '\*' | sort -V | tail -n 1)
  if [[ -z "$d" ]]; then
    d=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
  fi
  echo "$d"
}

# Runs a command as the cluster owner: `postgres` when we are root, ourselves otherwise.
_pg_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    local cmd
    printf -v cmd '%q ' "$@"
    # From / because the caller's directory (often /root) is not readable by postgres.
    su postgres -s /bin/bash -c "cd / && $cmd"
  else
    "$@"
  fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
_pg_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pg_start() {
  local bin port dir started=0
  bin=$(_pg_bindir)
  if [[ ! -x "$bin/initdb" || ! -x "$bin/pg_ctl" ]]; then
    echo "pg_start: PostgreSQL server binaries not found (looked in '$bin'; set BANXWAY_PG_BIN)" >&2
    return 1
  fi
  if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    echo "pg_start: running as root but there is no 'postgres' user to own the cluster" >&2
    return 1
  fi

  dir=$(mktemp -d "${TMPDIR:-/tmp}/banxway-pg.XXXXXX") || return 1
  chmod 755 "$dir"
  if [[ $(id -u) -eq 0 ]]; then chown postgres "$dir"; fi

  # C locale and UTF-8 whatever the environment says, so the cluster behaves the same
  # everywhere (and initdb does not fail on a LANG whose locale is not installed).
  if ! _pg_as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C \
      --no-sync >"$dir/initdb.log" 2>&1; then
    echo "pg_start: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    rm -rf "$dir"
    return 1
  fi

  port=${BANXWAY_PG_PORT:-55432}
  for _ in $(seq 1 20); do  # ports to try
    if _pg_port_busy "$port"; then
      port=$((port + 1))
      continue
    fi
    rm -f "$dir/log"  # so the bind check below reads this attempt's log only
    if _pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
        start >/dev/null; then
      started=1
      break
    fi
    # Lost a race for the port to someone else: try the next one; any other failure is final.
    if grep -q "could not bind\|Address already in use" "$dir/log" 2>/dev/null; then
      port=$((port + 1))
      continue
    fi
    break
  done
  if [[ $started -ne 1 ]]; then
    echo "pg_start: PostgreSQL did not start (last port tried: $port); server log:" >&2
    tail -n 30 "$dir/log" >&2
    rm -rf "$dir"
    return 1
  fi
  if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30; then
    echo "pg_start: PostgreSQL is not accepting connections on port $port; server log:" >&2
    tail -n 30 "$dir/log" >&2
    _pg_as_owner "$bin/pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1
    rm -rf "$dir"
    return 1
  fi

  export BANXWAY_PG_DIR="$dir"
  export BANXWAY_PG_BINDIR="$bin"
  export BANXWAY_PG_RUNNING_PORT="$port"
  export BANXWAY_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "pg_start: PostgreSQL on 127.0.0.1:$port (data in $dir)" >&2
}

pg_stop() {
  local dir=${BANXWAY_PG_DIR:-} bin=${BANXWAY_PG_BINDIR:-$(_pg_bindir)}
  if [[ -z "$dir" ]]; then
    return 0
  fi
  if [[ -d "$dir/data" ]]; then
    _pg_as_owner "$bin/pg_ctl" -D "$dir/data" stop -m fast -w >/dev/null 2>&1 ||
      echo "pg_stop: pg_ctl stop failed (see $dir/log)" >&2
  fi
  rm -rf "$dir"
  unset BANXWAY_PG_DIR BANXWAY_PG_BINDIR BANXWAY_PG_RUNNING_PORT BANXWAY_TEST_PG_URL
}
