# Debian packages banxway needs; sourced by scripts/run and scripts/test.
# shellcheck shell=bash

BANXWAY_BUILD_PKGS="build-essential cmake ninja-build pkg-config ccache libboost-dev
  libboost-system-dev libpq-dev libssl-dev libcurl4-gnutls-dev rapidjson-dev libsqlite3-dev
  libspdlog-dev libfmt-dev libgmime-3.0-dev libphonenumber-dev pybind11-dev python3-dev
  python3-setuptools python3-pip libgtest-dev libgmock-dev libbenchmark-dev libgumbo-dev libmagic-dev
  libetpan-dev libhowardhinnant-date-dev tzdata libre2-dev libmimalloc-dev"
BANXWAY_TEST_PKGS="postgresql python3-pytest python3-websockets wrk curl dovecot-imapd
  dovecot-lmtpd opensmtpd python3-jsonschema"

# Installs whichever of the given packages are missing (as root, or through sudo).
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "banxway: installing ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "banxway: need root or sudo to install packages" >&2; return 1; }
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
