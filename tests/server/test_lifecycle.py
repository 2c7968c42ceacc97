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


def test_bootstrap_happens_only_once(tmp_path):
    wd = str(tmp_path)
    first = Server(sqlite_url(wd), wd)
    assert first.key
    assert first.stop() == 0
    second = Server(sqlite_url(wd), wd)
    assert second.key is None
    assert not any("bxk_" in l for l in second.stdout_lines)
    # The first key still works after a restart.
    c = Client(second.host, second.port, first.key)
    assert c.get(THREADS).status == 200
    c.close()
    assert second.stop() == 0


def test_sigterm_with_idle_keep_alive_exits_zero_quickly(tmp_path):
    wd = str(tmp_path)
    s = Server(sqlite_url(wd), wd)
    c = s.client()
    assert c.get(THREADS).status == 200  # leaves an idle keep-alive connection open
    t0 = time.monotonic()
    assert s.stop(signal.SIGTERM) == 0
    assert time.monotonic() - t0 < 5
    assert "stopped" in s.stderr_text()
    c.close()


def test_sigint_exits_zero(tmp_path):
    wd = str(tmp_path)
    s = Server(sqlite_url(wd), wd)
    assert s.stop(signal.SIGINT) == 0


def test_in_flight_request_finishes_during_shutdown(tmp_path):
    """A request whose body is still arriving when SIGTERM comes is answered, then the server
    exits 0."""
    wd = str(tmp_path)
    s = Server(sqlite_url(wd), wd)
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


def test_dotenv_fills_unset_variables_and_environment_wins(tmp_path):
    wd = str(tmp_path)
    with open(os.path.join(wd, ".env"), "w") as f:
        f.write("# settings for a dev box\n"
                "export CORS_ORIGINS=\"http://from-dotenv.example, http://second.example\"\n"
                "JWT_AUDIENCE='authenticated'\n"
                "PORT=1  # overridden by --port 0 on the command line\n")
    s = Server(sqlite_url(wd), wd)
    c = s.client()
    r = c.get("/health", headers={"Origin": "http://second.example"})
    assert r.header("Access-Control-Allow-Origin") == "http://second.example"
    c.close()
    assert s.stop() == 0

    s = Server(sqlite_url(wd), wd, env={"CORS_ORIGINS": "http://from-env.example"})
    c = s.client()
    r = c.get("/health", headers={"Origin": "http://from-dotenv.example"})
    assert r.header("Access-Control-Allow-Origin") is None
    r = c.get("/health", headers={"Origin": "http://from-env.example"})
    assert r.header("Access-Control-Allow-Origin") == "http://from-env.example"
    c.close()
    assert s.stop() == 0


def test_max_body_flag(tmp_path):
    wd = str(tmp_path)
    s = Server(sqlite_url(wd), wd, args=["--max-body", "2K"])
    c = s.client()
    r = c.post(THREADS, body={"subject": "s" * 4000})
    assert r.status == 413, r
    assert r.error_code == "payload_too_large"
    r = c.post(THREADS, body={"subject": "small"})
    assert r.status == 201, r
    c.close()
    assert s.stop() == 0


def test_concurrent_clients(tmp_path):
    wd = str(tmp_path)
    s = Server(sqlite_url(wd), wd, args=["--threads", "2", "--workers", "3"])
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


def test_unusable_database_fails_to_start(tmp_path):
    out = subprocess.run([server_bin(), "--db", "nosuchscheme://x", "--port", "0"],
                         capture_output=True, timeout=30, cwd=str(tmp_path))
    assert out.returncode == 1
    assert b"listening" not in out.stdout
