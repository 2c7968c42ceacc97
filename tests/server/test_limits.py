"""Server limits over real sockets: per-address rate limits (429 + Retry-After), the 8 KB
header limit, --max-connections, --request-timeout, slow headers (slowloris) cut off after
--header-timeout, and per-route body limits. SQLite only: these are about the process."""

import os
import socket
import time

import pytest

from server_harness import Server, raw_exchange

THREADS = "/api/v1/communications/threads"


@pytest.fixture
def spawn(tmp_path):
    started = []

    def start(args=()):
        db = os.path.join(str(tmp_path), "l%d.db" % len(started))
        s = Server("sqlite://" + db, str(tmp_path), args=["--job-workers", "0", *args])
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def status_of(raw):
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else None


def closed_after(sock, limit):
    """Seconds until the peer closes `sock` (reading and discarding), or None past `limit`."""
    t0 = time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() - t0 < limit:
        try:
            if not sock.recv(65536):
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.monotonic() - t0
    return None


def test_rate_limit_by_address(spawn):
    s = spawn(["--rate-limit-ip", "1", "--rate-burst-ip", "3"])
    authed = s.client()
    anon = s.client(key=None)
    # A valid credential takes no address token.
    for _ in range(6):
        assert authed.get(THREADS).status == 200
    # Unauthenticated requests do: a burst of three, then 429 with Retry-After.
    codes = [anon.get("/api/v1", auth=False).status for _ in range(3)]
    assert codes == [200, 200, 200], codes
    r = anon.get("/api/v1", auth=False)
    assert r.status == 429 and r.error_code == "rate_limited", r
    retry = int(r.header("Retry-After"))
    assert 1 <= retry <= 2, retry
    # With the address's bucket empty, even a credentialed request is refused.
    r = authed.get(THREADS)
    assert r.status == 429 and r.header("Retry-After"), r
    time.sleep(retry + 0.1)
    assert anon.get("/api/v1", auth=False).status == 200
    metrics = anon.get("/metrics", auth=False)  # monitoring is never limited
    assert metrics.status == 200
    assert 'banxway_http_rate_limited_total{by="address"} 2' in metrics.raw
    authed.close()
    anon.close()


def test_failed_logins_and_webhooks_are_limited_by_address(spawn):
    s = spawn(["--rate-limit-ip", "1", "--rate-burst-ip", "2"])
    bad = s.client(key="bxk_not_a_real_key_000000000000000")
    assert [bad.get(THREADS).status for _ in range(2)] == [401, 401]
    r = bad.get(THREADS)
    assert r.status == 429, r
    bad.close()
    s2 = spawn(["--rate-limit-ip", "1", "--rate-burst-ip", "2"])
    hook = s2.client(key=None)
    codes = [hook.request("POST", "/api/v1/webhooks/twilio/sms", body=b"From=%2B1",
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          auth=False).status for _ in range(3)]
    assert codes[2] == 429 and 429 not in codes[:2], codes
    hook.close()


def test_per_caller_limit_sends_retry_after(spawn):
    s = spawn(["--rate-limit", "1", "--rate-burst", "2"])
    c = s.client()
    codes = [c.get(THREADS) for _ in range(3)]
    assert [r.status for r in codes[:2]] == [200, 200]
    assert codes[2].status == 429 and int(codes[2].header("Retry-After")) >= 1
    c.close()


def test_header_limit_is_8k_by_default(spawn):
    s = spawn()
    ok = ("GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\nConnection: close\r\n\r\n"
          % ("a" * 7000)).encode()
    assert status_of(raw_exchange(s.host, s.port, ok)) == 200
    big = ("GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n" % ("a" * 9000)).encode()
    assert status_of(raw_exchange(s.host, s.port, big)) == 431


def test_max_connections(spawn):
    s = spawn(["--max-connections", "3"])
    held = [socket.create_connection((s.host, s.port)) for _ in range(3)]
    time.sleep(0.3)  # let the server accept them
    out = raw_exchange(s.host, s.port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(out) == 503, out[:200]
    assert b"Retry-After: 1" in out and b'"code":"unavailable"' in out
    held.pop().close()
    time.sleep(0.3)
    out = raw_exchange(s.host, s.port,
                       b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(out) == 200, out[:200]
    assert b"banxway_http_connections_refused_total 1" in out
    for h in held:
        h.close()


def test_request_timeout_bounds_a_slow_body(spawn):
    s = spawn(["--request-timeout", "1", "--header-timeout", "20"])
    c = socket.create_connection((s.host, s.port))
    c.sendall(b"POST /api/v1/communications/threads HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
    t0 = time.monotonic()
    took = None
    try:
        for _ in range(40):  # one byte every 0.1 s: the body would need 20 s
            c.sendall(b" ")
            c.settimeout(0.1)
            try:
                if not c.recv(1024):
                    took = time.monotonic() - t0
                    break
            except socket.timeout:
                pass
    except (BrokenPipeError, ConnectionResetError):
        took = time.monotonic() - t0
    c.close()
    assert took is not None and took < 2.5, took


def test_slowloris_headers_are_cut_off(spawn):
    s = spawn(["--header-timeout", "2"])
    c = socket.create_connection((s.host, s.port))
    request = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    t0 = time.monotonic()
    took = None
    try:
        for b in request:  # byte by byte, every 50 ms: never finishes within 2 s
            c.sendall(bytes([b]))
            c.settimeout(0.05)
            try:
                if not c.recv(1024):
                    took = time.monotonic() - t0
                    break
            except socket.timeout:
                pass
    except (BrokenPipeError, ConnectionResetError):
        took = time.monotonic() - t0
    c.close()
    assert took is not None and 1.8 < took < 3.5, took
    # The server is fine afterwards.
    out = raw_exchange(s.host, s.port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(out) == 200


def test_body_limits_per_route(spawn):
    s = spawn(["--max-body", "1K", "--max-upload", "64K"])
    c = s.client()
    r = c.post(THREADS, body={"subject": "x" * 2000})
    assert r.status == 413 and r.error_code == "payload_too_large", r
    shipment = c.post("/api/v1/shipments", body={"mode": "air"}).data["id"]
    path = "/api/v1/shipments/%s/documents" % shipment
    text = b"line of a packing list\n" * 1000  # 23 KB: over --max-body, under --max-upload
    r = c.request("POST", path, body=text, headers={"Content-Type": "text/plain"})
    assert r.status == 201, r
    huge = b"x" * (200 * 1024)
    r = c.request("POST", path, body=huge, headers={"Content-Type": "text/plain"})
    assert r.status == 413, r
    c.close()


def test_request_timeout_answers_503_for_a_slow_operation(spawn):
    # channels.sync against an IMAP server that accepts and never greets: the operation waits
    # on the network far longer than the 1 s deadline.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    s = spawn(["--request-timeout", "1", "--no-mail-watch"])
    c = s.client()
    r = c.post("/api/v1/channels", body={
        "channel": "email", "name": "slow", "address": "slow@x.example",
        "config": {"imap": {"host": "127.0.0.1", "port": port, "security": "plain"}},
        "secrets": {"imap_password": "x"}})
    assert r.status == 201, r
    t0 = time.monotonic()
    r = c.post("/api/v1/channels/%s/sync" % r.data["id"])
    took = time.monotonic() - t0
    assert r.status == 503 and r.error_code == "unavailable", r
    assert "request-timeout" in r.json["error"]["message"]
    assert 0.8 < took < 3, took
    assert r.header("Connection") == "close"
    c.close()
    # The server still answers (the worker finishes in its own time).
    c = s.client()
    assert c.get("/health", auth=False).status == 200
    c.close()
    silent.close()
