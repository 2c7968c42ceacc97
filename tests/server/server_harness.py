"""Starts a real banxway-server process and talks to it over HTTP (standard library only)."""

import http.client
import json
import os
import re
import selectors
import signal
import subprocess
import time
import urllib.parse
import uuid

READY_RE = re.compile(r"banxway-server listening on (http://\S+)")
KEY_RE = re.compile(r"admin API key[^:]*: (bxk_\S+)")


def server_bin():
    path = os.environ.get("BANXWAY_SERVER_BIN")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "examples", "server", "banxway-server")
    return os.path.abspath(path)


def cli_bin():
    path = os.environ.get("BANXWAY_CLI_BIN")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "examples", "cli", "banxway")
    return os.path.abspath(path)


class Server:
    """A running server: `base` URL, `key` (the bootstrap admin key, if one was printed),
    `stdout_lines` as printed before it was ready, and `stderr_path` (the access log)."""

    def __init__(self, db_url, workdir, args=(), env=None, timeout=30):
        self.db_url = db_url
        self.workdir = workdir
        self.stderr_path = os.path.join(workdir, "server-%s.stderr" % uuid.uuid4().hex[:8])
        full_env = dict(os.environ)
        # Settings from the developer's shell must not leak into the tests.
        for k in ("DATABASE_URL", "HOST", "PORT", "CORS_ORIGINS", "JWT_SECRET",
                  "SUPABASE_JWT_SECRET", "JWT_AUDIENCE", "JWT_ISSUER"):
            full_env.pop(k, None)
        full_env.update(env or {})
        cmd = [server_bin(), "--db", db_url, "--host", "127.0.0.1", "--port", "0", *args]
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     cwd=workdir, env=full_env)
        self.stdout_lines = []
        self.key = None
        self.base = None
        self._wait_ready(timeout)
        u = urllib.parse.urlparse(self.base)
        self.host, self.port = u.hostname, u.port

    def _wait_ready(self, timeout):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            if not sel.select(timeout=0.2):
                if self.proc.poll() is not None:
                    break
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                text = line.decode("utf-8", "replace")
                self.stdout_lines.append(text)
                m = KEY_RE.search(text)
                if m:
                    self.key = m.group(1)
                m = READY_RE.search(text)
                if m:
                    self.base = m.group(1)
                    return
        self.stop()
        raise RuntimeError("banxway-server did not become ready; stdout=%r stderr=%r"
                           % (self.stdout_lines, self.stderr_text()[-4000:]))

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the server and returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def client(self, key="default"):
        return Client(self.host, self.port, self.key if key == "default" else key)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    @property
    def data(self):
        assert self.json and self.json.get("success") is True, self.raw
        return self.json["data"]

    @property
    def error_code(self):
        assert self.json and self.json.get("success") is False, self.raw
        return self.json["error"]["code"]

    def __repr__(self):
        return "Response(%d, %r)" % (self.status, self.raw[:500])


class Client:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, host, port, key):
        self.host, self.port, self.key = host, port, key
        self.conn = None

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, params=None, auth=True):
        if params:
            path += "?" + urllib.parse.urlencode(params, doseq=True)
        hdrs = {}
        if auth and self.key:
            hdrs["Authorization"] = "Bearer " + self.key
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                r = self.conn.getresponse()
                data = r.read()
                resp = Response(r.status, r.getheaders(), data.decode("utf-8", "replace"))
                if r.will_close:
                    self.close()
                return resp
            except (ConnectionError, http.client.RemoteDisconnected):
                # A keep-alive connection the server closed while idle: retry once on a new one.
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body if body is not None else {}, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body=body if body is not None else {}, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def raw_exchange(host, port, payload, read_timeout=10):
    """Sends raw bytes and returns everything the server answers until it closes."""
    import socket
    s = socket.create_connection((host, port), timeout=read_timeout)
    try:
        s.sendall(payload)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            if not c:
                break
            chunks.append(c)
        return b"".join(chunks)
    finally:
        s.close()


def run_cli(db_url, *args):
    out = subprocess.run([cli_bin(), "--db", db_url, *args], capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("banxway %s failed: %s" % (" ".join(args), out.stderr.decode()))
    return json.loads(out.stdout.decode())


def wait_for(fn, timeout=20.0):
    """Polls fn every 50 ms until it returns something true (returned); fails after timeout."""
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("condition not reached in %.0f s" % timeout)
        time.sleep(0.05)
