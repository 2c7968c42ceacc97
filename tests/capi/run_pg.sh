#!/bin/sh
# Runs the C test program against a fresh PostgreSQL database on the test server.
set -eu
prog="$1"
if [ -z "${BANXWAY_TEST_PG_URL:-}" ]; then
  if [ "${BANXWAY_REQUIRE_PG:-0}" = 1 ]; then
    echo "BANXWAY_REQUIRE_PG=1 but BANXWAY_TEST_PG_URL is not set"; exit 1
  fi
  echo "no PostgreSQL configured (BANXWAY_TEST_PG_URL): skipped"; exit 77
fi
db="bxcapi_$$_$(date +%s)"
psql -q "$BANXWAY_TEST_PG_URL" -c "CREATE DATABASE $db TEMPLATE template0" >/dev/null
base=${BANXWAY_TEST_PG_URL%/*}
BANXWAY_CAPI_DB="$base/$db" exec "$prog"
