# shellcheck shell=bash
# A private, throw-away mail system for tests: Dovecot (IMAP + LMTP) and OpenSMTPD relaying
# everything it receives into Dovecot's LMTP (docs/EMAIL.md, "Test bed"). Source this file, then:
#
#   mail_start   # start both on 127.0.0.1 in a temporary directory; exports BANXWAY_TEST_*
#   trap mail_stop EXIT   # (combine with other traps: trap 'pg_stop; mail_stop' EXIT)
#   ...          # run tests
#   mail_stop    # stop both by pid and delete the directory
#
# Ports: BANXWAY_IMAP_PORT (default 11143), BANXWAY_LMTP_PORT (11124), BANXWAY_SMTP_PORT (11025)
# are the first ports tried; a port something else already listens on is skipped for the next
# free one. Users: ops@example.test and agent@example.test, password "secret".
# Mail for user+detail@example.test lands in the folder "detail" of user@example.test (created on
# delivery), so concurrent tests can each use a folder of their own.
#
# Must run as root: both daemons start as root and drop to their own users (dovecot, dovenull,
# opensmtpd, and vmail for the mailboxes, which is created here when missing).

# True when something accepts TCP connections on 127.0.0.1:$1.
_mail_port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The first port from $1 on that nobody listens on and that is not in the rest of the arguments.
_mail_free_port() {
  local port=$1 taken
  shift
  for _ in $(seq 1 50); do
    taken=0
    for p in "$@"; do [[ "$p" == "$port" ]] && taken=1; done
    if [[ $taken -eq 0 ]] && ! _mail_port_busy "$port"; then
      echo "$port"
      return 0
    fi
    port=$((port + 1))
  done
  return 1
}

# Waits until 127.0.0.1:$1 accepts connections (up to ~15 s).
_mail_wait_port() {
  for _ in $(seq 1 150); do
    _mail_port_busy "$1" && return 0
    sleep 0.1
  done
  return 1
}

_mail_write_dovecot_conf() {
  local dir=$1 imap=$2 lmtp=$3
  cat >"$dir/dovecot.conf" <<EOF
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$dir/mail/%u
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
# user+folder@domain delivers into "folder" (created if missing): one folder per test case.
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = yes
# No auth-failure penalty for loopback: a wrong-password test would otherwise delay every other
# test's login by seconds.
login_trusted_networks = 127.0.0.0/8
service imap-login {
  inet_listener imap {
    port = $imap
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/users
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$dir/mail/%u
}
EOF
}

_mail_write_smtpd_conf() {
  local dir=$1 smtp=$2 lmtp=$3
  cat >"$dir/smtpd.conf" <<EOF
listen on 127.0.0.1 port $smtp
table users file:$dir/users.tbl
action "deliver" lmtp "127.0.0.1:$lmtp" rcpt-to virtual <users>
match from any for any action "deliver"
EOF
}

# Starts smtpd in the foreground as a background job of this shell; sets _MAIL_SMTPD_PID.
# OpenSMTPD's queue (/var/spool/smtpd) and control socket (/var/run/smtpd.sock) are compiled-in
# paths, so two instances would collide; in a private mount namespace both live under $dir
# instead. Without unshare(1) privileges it runs with the shared paths (one instance at a time).
_mail_spawn_smtpd() {
  local dir=$1 smtpd
  smtpd=$(command -v smtpd || echo /usr/sbin/smtpd)
  mkdir -p "$dir/spool" "$dir/smtpd-run"
  chmod 755 "$dir/spool" "$dir/smtpd-run"
  if unshare -m true 2>/dev/null; then
    # unshare without --fork execs in place, and so does the shell: $! is smtpd's own pid.
    unshare -m --propagation private sh -c \
      'mount --bind "$1/spool" /var/spool && mount --bind "$1/smtpd-run" /run && exec "$2" -d -f "$1/smtpd.conf"' \
      sh "$dir" "$smtpd" >"$dir/smtpd.log" 2>&1 &
  else
    "$smtpd" -d -f "$dir/smtpd.conf" >"$dir/smtpd.log" 2>&1 &
  fi
  _MAIL_SMTPD_PID=$!
}

mail_start() {
  local dir imap lmtp smtp started=0 smtpd_pid attempt
  if [[ $(id -u) -ne 0 ]]; then
    echo "mail_start: must run as root (Dovecot and OpenSMTPD start as root and drop privileges)" >&2
    return 1
  fi
  if ! command -v dovecot >/dev/null || ! command -v smtpd >/dev/null; then
    echo "mail_start: dovecot and smtpd are needed (packages dovecot-imapd dovecot-lmtpd opensmtpd)" >&2
    return 1
  fi
  for u in dovecot dovenull opensmtpd; do
    if ! id "$u" >/dev/null 2>&1; then
      echo "mail_start: system user '$u' is missing (reinstall the dovecot/opensmtpd packages)" >&2
      return 1
    fi
  done
  # Both daemons refuse to run mailbox workers as root: a dedicated owner for the mail files.
  if ! id vmail >/dev/null 2>&1; then
    useradd -r -M -s /usr/sbin/nologin vmail || { echo "mail_start: cannot create user vmail" >&2; return 1; }
  fi

  dir=$(mktemp -d "${TMPDIR:-/tmp}/banxway-mail.XXXXXX") || return 1
  chmod 755 "$dir"  # dovecot's and vmail's processes need to reach their files below
  mkdir -p "$dir/mail" "$dir/run" "$dir/state"
  chown vmail:vmail "$dir/mail"
  printf '%s\n' 'ops@example.test:{PLAIN}secret' 'agent@example.test:{PLAIN}secret' >"$dir/users"
  chmod 644 "$dir/users"
  echo '@ vmail' >"$dir/users.tbl"

  # Dovecot: pick free ports, start; if it lost a race for a port, move on to the next ones.
  imap=${BANXWAY_IMAP_PORT:-11143}
  lmtp=${BANXWAY_LMTP_PORT:-11124}
  for attempt in $(seq 1 10); do
    imap=$(_mail_free_port "$imap") && lmtp=$(_mail_free_port "$lmtp" "$imap") || break
    _mail_write_dovecot_conf "$dir" "$imap" "$lmtp"
    rm -f "$dir/dovecot.log"
    if dovecot -c "$dir/dovecot.conf" 2>>"$dir/dovecot.start.log" &&
        _mail_wait_port "$imap" && _mail_wait_port "$lmtp"; then
      started=1
      break
    fi
    [[ -f "$dir/run/master.pid" ]] && kill "$(cat "$dir/run/master.pid")" 2>/dev/null
    sleep 0.5
    if ! grep -qi "address already in use" "$dir/dovecot.log" "$dir/dovecot.start.log" 2>/dev/null; then
      break
    fi
    imap=$((imap + 1))
    lmtp=$((lmtp + 1))
  done
  if [[ $started -ne 1 ]]; then
    echo "mail_start: Dovecot did not start (ports $imap/$lmtp, attempt ${attempt:-0}); log:" >&2
    tail -n 20 "$dir/dovecot.log" "$dir/dovecot.start.log" 2>/dev/null >&2
    rm -rf "$dir"
    return 1
  fi
  export BANXWAY_MAIL_DIR="$dir"  # from here on mail_stop can clean up

  # OpenSMTPD, relaying into the LMTP port above.
  started=0
  smtp=${BANXWAY_SMTP_PORT:-11025}
  for attempt in $(seq 1 10); do
    smtp=$(_mail_free_port "$smtp" "$imap" "$lmtp") || break
    _mail_write_smtpd_conf "$dir" "$smtp" "$lmtp"
    if ! smtpd -n -f "$dir/smtpd.conf" >"$dir/smtpd.check.log" 2>&1; then
      echo "mail_start: smtpd.conf rejected:" >&2
      cat "$dir/smtpd.check.log" >&2
      break
    fi
    _mail_spawn_smtpd "$dir"
    smtpd_pid=$_MAIL_SMTPD_PID
    echo "$smtpd_pid" >"$dir/smtpd.pid"
    if _mail_wait_port "$smtp" && kill -0 "$smtpd_pid" 2>/dev/null; then
      started=1
      break
    fi
    kill "$smtpd_pid" 2>/dev/null
    wait "$smtpd_pid" 2>/dev/null
    rm -f "$dir/smtpd.pid"
    if ! grep -qi "address already in use" "$dir/smtpd.log" 2>/dev/null; then
      break
    fi
    smtp=$((smtp + 1))
  done
  if [[ $started -ne 1 ]]; then
    echo "mail_start: OpenSMTPD did not start (port $smtp); log:" >&2
    tail -n 20 "$dir/smtpd.log" >&2 2>/dev/null
    mail_stop
    return 1
  fi

  export BANXWAY_TEST_IMAP_HOST=127.0.0.1
  export BANXWAY_TEST_IMAP_PORT="$imap"
  export BANXWAY_TEST_LMTP_PORT="$lmtp"
  export BANXWAY_TEST_SMTP_PORT="$smtp"
  export BANXWAY_TEST_MAIL_USER=ops@example.test
  export BANXWAY_TEST_MAIL_PASSWORD=secret
  echo "mail_start: IMAP 127.0.0.1:$imap, LMTP :$lmtp, SMTP :$smtp (files in $dir)" >&2
}

# Sends TERM to a pid and waits up to ~10 s for it to go, then KILL.
_mail_kill_pid() {
  local pid=$1
  [[ -n "$pid" ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null
}

mail_stop() {
  local dir=${BANXWAY_MAIL_DIR:-}
  [[ -n "$dir" && -d "$dir" ]] || return 0
  if [[ -f "$dir/smtpd.pid" ]]; then
    _mail_kill_pid "$(cat "$dir/smtpd.pid")"
  fi
  if [[ -f "$dir/run/master.pid" ]]; then
    _mail_kill_pid "$(cat "$dir/run/master.pid")"
  fi
  rm -rf "$dir"
  unset BANXWAY_MAIL_DIR BANXWAY_TEST_IMAP_HOST BANXWAY_TEST_IMAP_PORT \
    BANXWAY_TEST_LMTP_PORT BANXWAY_TEST_SMTP_PORT BANXWAY_TEST_MAIL_USER BANXWAY_TEST_MAIL_PASSWORD
}
