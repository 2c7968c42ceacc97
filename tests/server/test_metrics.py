"""GET /metrics: the Prometheus text format (0.0.4) parsed by a small parser written here,
counters that move with traffic, the latency histogram's shape, gauges, the engine's counts
(messages by channel/direction, jobs by state) and the --metrics modes. SQLite only: this is
about the server, not the database."""

import os
import re
import time

import pytest

from server_harness import Server

THREADS = "/api/v1/communications/threads"

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE_RE = re.compile(r"^(%s)(?:\{(%s(?:,%s)*)?\})? (\S+)(?: -?\d+)?$" % (NAME, LABEL, LABEL))
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def parse_exposition(text):
    """Returns {family: {"type": t, "help": h, "samples": [(name, labels, value)]}}; raises
    AssertionError on anything the 0.0.4 text format does not allow."""
    assert text.endswith("\n"), "exposition must end with a newline"
    families = {}
    current = None
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            _, _, name, help_text = line.split(" ", 3)
            assert re.fullmatch(NAME, name), line
            families.setdefault(name, {"type": None, "help": None, "samples": []})["help"] = help_text
            current = name
        elif line.startswith("# TYPE "):
            parts = line.split(" ")
            assert len(parts) == 4, line
            name, typ = parts[2], parts[3]
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), line
            fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
            assert fam["type"] is None, "TYPE given twice for " + name
            assert not fam["samples"], "TYPE after samples for " + name
            fam["type"] = typ
            current = name
        elif line.startswith("#") or line == "":
            continue
        else:
            m = SAMPLE_RE.match(line)
            assert m, "malformed sample line: %r" % line
            name, labels_text, value = m.group(1), m.group(2) or "", m.group(3)
            labels = dict(LABEL_RE.findall(labels_text))
            v = float(value)  # also accepts +Inf / NaN spelled as Prometheus does
            family = name
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and name[: -len(suffix)] in families and \
                        families[name[: -len(suffix)]]["type"] == "histogram":
                    family = name[: -len(suffix)]
            assert family in families and families[family]["type"], "sample before TYPE: " + line
            assert family == current, "samples of %s not grouped together" % family
            families[family]["samples"].append((name, labels, v))
    return families


def value(families, family, name=None, **labels):
    for n, l, v in families[family]["samples"]:
        if n == (name or family) and all(l.get(k) == str(x) for k, x in labels.items()):
            return v
    return None


@pytest.fixture
def spawn(tmp_path):
    started = []

    def start(args=()):
        db = os.path.join(str(tmp_path), "m%d.db" % len(started))  # fresh: prints its key
        s = Server("sqlite://" + db, str(tmp_path),
                   args=["--job-workers", "0", *args])
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def scrape(server, key=None):
    c = server.client(key=key)
    r = c.get("/metrics", auth=key is not None)
    c.close()
    return r


def test_counters_histograms_and_gauges(spawn):
    s = spawn()
    c = s.client()
    t = c.post(THREADS, body={"subject": "metrics"}).data
    assert c.post("/api/v1/communications/threads/%s/notes" % t["id"], body={"text": "n"}).status == 201
    raw = ("From: a@b.example\r\nTo: desk@x.example\r\nSubject: hello\r\n"
           "Message-ID: <m1@b.example>\r\n\r\nbody\r\n")
    r = c.request("POST", "/api/v1/inbound/email", body=raw,
                  headers={"Content-Type": "message/rfc822"})
    assert r.status == 201, r
    r = c.post("/api/v1/channels", body={
        "channel": "email", "name": "desk", "address": "desk@x.example",
        "config": {"smtp": {"host": "127.0.0.1", "port": 1, "security": "plain"}}})
    assert r.status == 201, r
    r = c.post("/api/v1/communications/messages",
               body={"thread_id": t["id"], "to": ["a@b.example"], "text": "later",
                     "send_at": "2099-01-01T00:00:00Z"})
    assert r.status == 202, r
    for _ in range(3):
        assert c.get(THREADS).status == 200
    assert c.get("/api/v1/no/such/route").status == 404
    assert s.client(key=None).get(THREADS, auth=False).status == 401

    r = scrape(s)
    assert r.status == 200
    assert r.header("Content-Type").startswith("text/plain; version=0.0.4")
    m = parse_exposition(r.raw)
    assert m["banxway_http_requests_total"]["type"] == "counter"
    # Route patterns, not raw paths: the thread id does not appear as a label.
    assert value(m, "banxway_http_requests_total", route=THREADS, method="GET", status=200) == 3
    assert value(m, "banxway_http_requests_total", route=THREADS, method="GET", status=401) == 1
    assert value(m, "banxway_http_requests_total", route="unmatched", method="GET", status=404) == 1
    assert value(m, "banxway_http_requests_total",
                 route="/api/v1/communications/threads/:id/notes", method="POST", status=201) == 1
    assert t["id"] not in r.raw

    # The histogram: cumulative buckets ending in +Inf == _count, and a _sum.
    h = [(l["le"], v) for n, l, v in m["banxway_http_request_duration_seconds"]["samples"]
         if n.endswith("_bucket") and l["route"] == THREADS and l["method"] == "GET"]
    assert h[-1][0] == "+Inf"
    counts = [v for _, v in h]
    assert counts == sorted(counts)
    assert h[-1][1] == value(m, "banxway_http_request_duration_seconds",
                             "banxway_http_request_duration_seconds_count", route=THREADS, method="GET") == 4
    assert value(m, "banxway_http_request_duration_seconds",
                 "banxway_http_request_duration_seconds_sum", route=THREADS, method="GET") > 0
    bounds = [float(le) for le, _ in h[:-1]]
    assert bounds == sorted(bounds) and len(bounds) >= 10

    assert value(m, "banxway_http_requests_in_flight") >= 1  # this scrape
    assert value(m, "banxway_http_connections") >= 1
    assert value(m, "banxway_websocket_connections") == 0
    assert m["banxway_websocket_messages_sent_total"]["type"] == "counter"
    # Engine counts: the inbound email, the note and the queued reply are stored messages; the
    # scheduled send is a pending job (no job workers here).
    assert value(m, "banxway_engine_stats_up") == 1
    assert value(m, "banxway_messages_stored", channel="email", direction="inbound") == 1
    assert value(m, "banxway_messages_stored", channel="note", direction="internal") == 1
    assert value(m, "banxway_messages_stored", channel="email", direction="outbound") == 1
    pending = [v for n, l, v in m["banxway_jobs"]["samples"] if l["state"] == "pending"]
    assert sum(pending) >= 1
    assert m["banxway_job_failures"]["type"] == "gauge"

    # Counters move by exactly the traffic in between.
    for _ in range(2):
        c.get(THREADS)
    m2 = parse_exposition(scrape(s).raw)
    assert value(m2, "banxway_http_requests_total", route=THREADS, method="GET", status=200) == 5
    assert value(m2, "banxway_http_requests_total", route="/metrics", method="GET", status=200) == 1
    c.close()


def test_parser_rejects_malformed_text():
    with pytest.raises(AssertionError):
        parse_exposition("# TYPE x counter\nx{a=\"1\" 3\n")
    with pytest.raises(AssertionError):
        parse_exposition("y 1\n")  # no TYPE
    with pytest.raises(AssertionError):
        parse_exposition("# TYPE x counter\nx 1")  # no final newline
    assert parse_exposition("# TYPE x counter\nx{a=\"q\\\"\"} 3\n")["x"]["samples"][0][1] == \
        {"a": 'q\\"'}


def test_metrics_modes(spawn, tmp_path):
    s = spawn(["--metrics", "off"])
    assert scrape(s).status == 404
    assert s.stop() == 0
    s = spawn(["--metrics", "token"])
    assert scrape(s).status == 401
    assert scrape(s, key=s.key).status == 200
    c = s.client()
    viewer = c.post("/api/v1/apikeys", body={"role": "viewer", "name": "v"}).data["key"]
    c.close()
    r = scrape(s, key=viewer)
    assert r.status == 403 and r.error_code == "permission_denied"
    assert s.stop() == 0


def test_websocket_gauge(spawn):
    import asyncio
    import websockets

    s = spawn()

    async def go():
        ws = await websockets.connect("ws://%s:%d/ws" % (s.host, s.port),
                                      extra_headers={"Authorization": "Bearer " + s.key})
        try:
            await asyncio.wait_for(ws.recv(), 10)  # the welcome frame: the socket is counted
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, lambda: parse_exposition(scrape(s).raw))
        finally:
            await ws.close()

    m = asyncio.run(asyncio.wait_for(go(), 30))
    assert value(m, "banxway_websocket_connections") == 1
    deadline = time.monotonic() + 5
    while value(parse_exposition(scrape(s).raw), "banxway_websocket_connections") != 0:
        assert time.monotonic() < deadline, "gauge did not go back to 0 after the close"
        time.sleep(0.05)
