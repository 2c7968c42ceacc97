"""Start-up and shutdown: bootstrap once, .env, flags, signals. SQLite only: these are about the
process, not the database."""

import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from server_harness import Client, Server, server_bin

THREADS = "/api/v1/communications/threads"


def sqlite_url(workdir):
    return "sqlite://" + os.path.join(workdir, "life.db")


@pytest.fixture
def spawn(tmp_path):
    """Starts servers on a SQLite file in tmp_path; any still running are stopped afterwards,
    so a failing test does not leave processes behind."""
    started = []

    def start(args=(), env=None):
        s = Server(sqlite_url(str(tmp_path)), str(tmp_path), args=args, env=env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def test_bootstrap_happens_only_once(spawn):
    first = spawn()
    assert first.key
    assert first.stop() == 0
    second = spawn()
    assert second.key is None
    assert not any("bxk_" in l for l in second.stdout_lines)
    # The first key still works after a restart.
    c = Client(second.host, second.port, first.key)
    assert c.get(THREADS).status == 200
    c.close()
    assert second.stop() == 0


def test_sigterm_with_idle_keep_alive_exits_zero_quickly(spawn):
    s = spawn()
    c = s.client()
    assert c.get(THREADS).status == 200  # leaves an idle keep-alive connection open
    t0 = time.monotonic()
    assert s.stop(signal.SIGTERM) == 0
    assert time.monotonic() - t0 < 5
    assert "stopped" in s.stderr_text()
    c.close()


def test_sigint_exits_zero(spawn):
    s = spawn()
    assert s.stop(signal.SIGINT) == 0


def test_in_flight_request_finishes_during_shutdown(spawn):
    """A request whose body is still arriving when SIGTERM comes is answered, then the server
    exits 0."""
    s = spawn()
    body = b'{"subject": "late"}'
    sock = socket.create_connection((s.host, s.port), timeout=10)
    head = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (THREADS, s.key, len(body))).encode()
    sock.sendall(head + body[:5])
    time.sleep(0.3)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    sock.sendall(body[5:])
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    assert b"connection: close" in answer.lower()
    assert s.stop() == 0


def test_dotenv_fills_unset_variables_and_environment_wins(spawn, tmp_path):
    wd = str(tmp_path)
    with open(os.path.join(wd, ".env"), "w") as f:
        f.write("# settings for a dev box\n"
                "export CORS_ORIGINS=\"http://from-dotenv.example, http://second.example\"\n"
                "JWT_AUDIENCE='authenticated'\n"
                "PORT=1  # overridden by --port 0 on the command line\n")
    s = spawn()
    c = s.client()
    r = c.get("/health", headers={"Origin": "http://second.example"})
    assert r.header("Access-Control-Allow-Origin") == "http://second.example"
    c.close()
    assert s.stop() == 0

    s = spawn(env={"CORS_ORIGINS": "http://from-env.example"})
    c = s.client()
    r = c.get("/health", headers={"Origin": "http://from-dotenv.example"})
    assert r.header("Access-Control-Allow-Origin") is None
    r = c.get("/health", headers={"Origin": "http://from-env.example"})
    assert r.header("Access-Control-Allow-Origin") == "http://from-env.example"
    c.close()
    assert s.stop() == 0


def test_max_body_flag(spawn):
    s = spawn(args=["--max-body", "2K"])
    c = s.client()
    r = c.post(THREADS, body={"subject": "s" * 4000})
    assert r.status == 413, r
    assert r.error_code == "payload_too_large"
    r = c.post(THREADS, body={"subject": "small"})
    assert r.status == 201, r
    c.close()
    assert s.stop() == 0


def test_concurrent_clients(spawn):
    s = spawn(args=["--threads", "2", "--workers", "3"])
    errors = []

    def worker(n):
        c = s.client()
        try:
            for i in range(20):
                r = c.post(THREADS, body={"subject": "c%d-%d" % (n, i)})
                if r.status != 201:
                    errors.append(r)
                if c.get(THREADS, params={"limit": 5}).status != 200:
                    errors.append("list failed")
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    c = s.client()
    r = c.get(THREADS, params={"limit": 200})
    assert len(r.data) == 120
    c.close()
    assert s.stop() == 0


def test_bad_flags_exit_2():
    out = subprocess.run([server_bin(), "--port", "seventy"], capture_output=True, timeout=30)
    assert out.returncode == 2
    assert b"--port" in out.stderr
    out = subprocess.run([server_bin(), "--bogus"], capture_output=True, timeout=30)
    assert out.returncode == 2


def test_help_and_version():
    out = subprocess.run([server_bin(), "--help"], capture_output=True, timeout=30)
    assert out.returncode == 0 and b"--max-body" in out.stdout
    out = subprocess.run([server_bin(), "--version"], capture_output=True, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith(b"banxway-server ")
    # The second line names the library whose malloc the process runs on (mimalloc when
    # built with BANXWAY_MIMALLOC, the default; ASan's in a sanitizer build; glibc's otherwise).
    lines = out.stdout.decode().splitlines()
    assert len(lines) == 2 and lines[1].startswith("malloc: "), lines
    expected = os.environ.get("BANXWAY_EXPECT_MALLOC")
    if expected:
        assert lines[1].startswith("malloc: " + expected), lines


def test_unusable_database_fails_to_start(tmp_path):
    out = subprocess.run([server_bin(), "--db", "nosuchscheme://x", "--port", "0"],
                         capture_output=True, timeout=30, cwd=str(tmp_path))
    assert out.returncode == 1
    assert b"listening" not in out.stdout


def _recv_until_closed(sock, limit, since):
    """Seconds from `since` until the server closed the connection (None if it stayed open
    `limit` seconds more)."""
    sock.settimeout(limit)
    try:
        while sock.recv(65536):
            pass
    except socket.timeout:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - since


def test_idle_and_header_timeouts(spawn):
    s = spawn(args=["--header-timeout", "1", "--idle-timeout", "2"])
    t0 = time.monotonic()
    idle = socket.create_connection((s.host, s.port))
    slow = socket.create_connection((s.host, s.port))
    slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # headers never finish
    took = _recv_until_closed(slow, 6, t0)
    assert took is not None and took < 1.9, took  # the 1 s header timeout, not the idle one
    took = _recv_until_closed(idle, 6, t0)
    assert took is not None and 1.9 < took < 4, took
    idle.close()
    slow.close()
    assert s.stop() == 0


def _jwt(secret, claims):
    import base64
    import hashlib
    import hmac
    import json as _json

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = b64(_json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(_json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64(sig)


def test_supabase_jwt_from_environment(spawn):
    secret = "test-secret-with-enough-entropy-0123456789"
    s = spawn(env={"SUPABASE_JWT_SECRET": secret,
                                          "JWT_AUDIENCE": "authenticated"})
    admin = s.client()
    user = admin.post("/api/v1/users", body={"email": "jwt@example.test", "role": "agent"}).data
    now = int(time.time())
    good = _jwt(secret, {"sub": user["id"], "aud": "authenticated", "role": "authenticated",
                         "iat": now, "exp": now + 600})
    c = s.client(key=good)
    r = c.post(THREADS, body={"subject": "from a JWT"})
    assert r.status == 201, r
    wrong_aud = _jwt(secret, {"sub": user["id"], "aud": "other", "exp": now + 600})
    assert s.client(key=wrong_aud).get(THREADS).status == 401
    forged = _jwt("another-secret", {"sub": user["id"], "aud": "authenticated", "exp": now + 600})
    assert s.client(key=forged).get(THREADS).status == 401
    c.close()
    admin.close()
    assert s.stop() == 0


def test_rate_limit_answers_429_per_caller(spawn):
    s = spawn(args=["--rate-limit", "1", "--rate-burst", "3"])
    c = s.client()
    codes = [c.get(THREADS).status for _ in range(6)]
    # A burst of three, then the bucket is empty (refill is one per second).
    assert codes[:3] == [200, 200, 200], codes
    assert 429 in codes[3:], codes
    r = c.get(THREADS)
    if r.status == 429:
        assert r.error_code == "rate_limited"
    c.close()
    assert s.stop() == 0
