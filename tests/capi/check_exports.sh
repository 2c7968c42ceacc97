#!/bin/sh
# libbanxway.so must export the C ABI and nothing else.
set -eu
lib="$1"
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/ {print $3}' | grep -v '^banxway_' | grep -v '^BANXWAY_' || true)
if [ -n "$bad" ]; then
  echo "unexpected exported symbols:"; echo "$bad" | head -20; exit 1
fi
n=$(nm -D --defined-only "$lib" | grep -c ' T banxway_' || true)
[ "$n" -ge 7 ] || { echo "expected at least 7 banxway_ functions, found $n"; exit 1; }
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
case "$soname" in libbanxway.so.*) ;; *) echo "bad SONAME: $soname"; exit 1;; esac
echo "exports ok: $n banxway_ functions, SONAME $soname"
