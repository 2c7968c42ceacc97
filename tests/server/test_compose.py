"""Compose through the running server: reply drafts streamed as Server-Sent Events from a real
banxway-server to a real HTTP client, with the stand-in model (tests/support/fake_llm.py) behind
it; the JSON form of the same operation; a client that hangs up mid-draft cancels the model
call."""

import http.client
import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from server_harness import Server, wait_for

API = "/api/v1"
FAKE = os.path.join(os.path.dirname(__file__), "..", "support", "fake_llm.py")


@pytest.fixture(scope="module")
def fake_llm():
    p = subprocess.Popen([sys.executable, FAKE, "--port", "0"], stdout=subprocess.PIPE)
    line = p.stdout.readline().decode()
    assert line.startswith("PORT "), line
    yield int(line.split()[1])
    p.terminate()
    p.wait(timeout=10)


def start(database, port, model):
    env = {"AI_PROVIDER": "openai", "AI_BASE_URL": "http://127.0.0.1:%d/v1" % port,
           "AI_MODEL": model, "AI_ANALYZE_MESSAGES": "0"}
    return Server(database["url"], database["workdir"], args=("--allow-private-targets",), env=env)


@pytest.fixture(scope="module")
def echo_server(database, fake_llm):
    s = start(database, fake_llm, "echo")
    yield s
    assert s.stop() == 0, s.stderr_text()[-2000:]


def container_number(serial):
    """An ISO 6346 container number MSKU<serial><check digit>."""
    values = {c: v for c, v in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                   [10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26,
                                    27, 28, 29, 30, 31, 32, 34, 35, 36, 37, 38])}
    head = "MSKU%06d" % serial
    total = sum((values[c] if c.isalpha() else int(c)) * (2 ** i) for i, c in enumerate(head))
    return head + str(total % 11 % 10)


def inbound_thread(server):
    """A thread started by a customer's e-mail naming the container of a linked shipment."""
    api = server.client()
    tag = uuid.uuid4().hex[:8]
    box = container_number(int(tag[:5], 16) % 1000000)
    raw = ("From: Priya <priya-%s@acme.example>\r\nTo: ops@forwarder.example\r\n"
           "Subject: Where is %s?\r\nMessage-ID: <%s@acme.example>\r\n\r\n"
           "Hello, any update on container %s?\r\n" % (tag, box, tag, box))
    r = api.request("POST", API + "/inbound/email", body=raw.encode(),
                    headers={"Content-Type": "message/rfc822"})
    assert r.status in (200, 201), r
    thread = r.data["thread_id"]
    s = api.post(API + "/shipments", body={"mode": "ocean", "eta": "2026-12-05T00:00:00Z",
                                           "references": [{"kind": "container",
                                                           "value": box[:4] + " " + box[4:]}]})
    assert s.status == 201, s
    r = api.post(API + "/shipments/%s/threads" % s.data["id"], body={"thread_id": thread})
    assert r.status in (200, 201), r
    return thread, box


def open_stream(server, body):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=15)
    conn.request("POST", API + "/compose/suggest", body=json.dumps(body),
                 headers={"Authorization": "Bearer " + server.key,
                          "Content-Type": "application/json",
                          "Accept": "text/event-stream"})
    return conn, conn.getresponse()


def events(resp):
    """SSE events as (name, data) as they arrive."""
    name, data = "message", []
    while True:
        line = resp.fp.readline()
        if not line:
            return
        line = line.decode().rstrip("\r\n")
        if line == "":
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)


def test_drafts_stream_as_server_sent_events(echo_server):
    thread, box = inbound_thread(echo_server)
    t0 = time.monotonic()
    conn, resp = open_stream(echo_server, {"thread_id": thread, "count": 2})
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/event-stream"
    got = []
    first_context_ms = None
    for name, data in events(resp):
        if name == "context" and first_context_ms is None:
            first_context_ms = (time.monotonic() - t0) * 1000
        got.append((name, json.loads(data)))
    conn.close()
    names = [n for n, _ in got]
    assert names[0] == "context", names
    assert names[-1] == "done", names
    assert "delta" in names
    assert got[0][1]["references"] == [box]
    done = got[-1][1]
    assert done["source"] == "llm"
    assert len(done["drafts"]) == 2
    for v in (1, 2):
        text = "".join(d["text"] for n, d in got if n == "delta" and d["variant"] == v)
        assert text == done["drafts"][v - 1]["text"]
        assert text.startswith("Draft: ")  # the stand-in echoes the prompt's tail
    print("first SSE context event after %.1f ms" % first_context_ms)


def test_same_operation_as_json(echo_server):
    thread, box = inbound_thread(echo_server)
    api = echo_server.client()
    r = api.post(API + "/compose/suggest", body={"thread_id": thread, "mode": "rules"})
    assert r.status == 200, r
    d = r.data
    assert d["source"] == "rules"
    assert box in d["drafts"][0]["text"]
    assert d["unverified_references"] == []
    # Bad input is an ordinary JSON error, streamed or not.
    conn, resp = open_stream(echo_server, {"thread_id": thread, "count": 9})
    assert resp.status == 400
    assert json.loads(resp.read())["error"]["code"] == "invalid_argument"
    conn.close()
    ctx = api.get(API + "/communications/threads/%s/context" % thread)
    assert ctx.status == 200, ctx
    assert ctx.data["shipments"][0]["references"][0]["value"] == box


def test_hanging_up_cancels_the_model_call(database, fake_llm, echo_server):
    s = start(database, fake_llm, "slow")  # the first token comes after 2 s
    s.key = s.key or echo_server.key  # same database: the first server made the admin key
    try:
        thread, _ = inbound_thread(s)
        api = s.client()
        before = api.get(API + "/ai/usage").data
        failed_before = sum(f["failed"] for f in before["by_feature"])
        conn, resp = open_stream(s, {"thread_id": thread})
        assert resp.status == 200
        name, _ = next(events(resp))
        assert name == "context"
        closed = time.monotonic()
        resp.close()  # the client goes away while the model has not answered yet
        conn.close()

        def cancelled():
            u = api.get(API + "/ai/usage").data
            return sum(f["failed"] for f in u["by_feature"]) > failed_before

        wait_for(cancelled, timeout=10)
        # Recorded as ended well before the stand-in's first token (2 s after the request).
        assert time.monotonic() - closed < 1.8
        assert api.get("/health").status == 200
    finally:
        assert s.stop() == 0, s.stderr_text()[-2000:]
