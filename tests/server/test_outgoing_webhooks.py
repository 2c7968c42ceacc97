"""Outgoing webhooks and a workflow's webhook step through a running server whose own workers and
event dispatcher deliver (nothing is stepped by the test): a receiver on loopback checks the
signature the way docs/WEBHOOKS.md tells receivers to."""

import hashlib
import hmac
import http.server
import json
import threading
import time
import uuid

import pytest

from server_harness import Server, wait_for

API = "/api/v1"


class Receiver:
    """A local HTTP endpoint recording every POST; answers 503 to the first `fail_first`."""

    def __init__(self, fail_first=0):
        self.requests = []
        self.fail_first = fail_first
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append((self.path, dict(self.headers.items()), body))
                code = 503 if len(outer.requests) <= outer.fail_first else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def verify(secret, headers, body, window=300):
    """The receiver-side check: HMAC over "timestamp.body", constant-time, within the window."""
    ts = headers["Banxway-Timestamp"]
    assert abs(time.time() - int(ts)) <= window
    expected = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    offered = [s.strip()[3:] for s in headers["Banxway-Signature"].split(",")]
    return any(hmac.compare_digest(expected, o) for o in offered)


@pytest.fixture(scope="module")
def private_server(database):
    s = Server(database["url"], database["workdir"], args=("--allow-private-targets",))
    yield s
    assert s.stop() == 0, s.stderr_text()[-2000:]


def test_subscription_delivery_is_signed_and_retried(private_server):
    api = private_server.client()
    rx = Receiver(fail_first=1)
    try:
        r = api.post(API + "/webhook-subscriptions",
                     body={"url": rx.url + "/banxway", "event_types": ["thread.created"]})
        assert r.status == 201, r
        secret = r.data["secret"]
        sub = r.data["id"]
        subject = "Delivery " + uuid.uuid4().hex[:6]
        t = api.post(API + "/communications/threads", body={"subject": subject})
        assert t.status == 201, t
        # First answer 503: the worker retries after its backoff (about a second).
        wait_for(lambda: len(rx.requests) >= 2)
        ids = set()
        for path, headers, body in rx.requests[:2]:
            assert path == "/banxway"
            assert headers["Banxway-Event"] == "thread.created"
            assert verify(secret, headers, body)
            assert not verify("not-the-secret", headers, body)
            ids.add(headers["Banxway-Delivery"])
        assert len(ids) == 1  # one delivery, two attempts
        event = json.loads(rx.requests[1][2])["event"]
        assert event["data"]["subject"] == subject and event["subject_id"] == t.data["id"]

        def succeeded():
            d = api.get(API + "/webhook-subscriptions/" + sub + "/deliveries")
            return d.data if d.data and d.data[0]["status"] == "succeeded" else None
        deliveries = wait_for(succeeded)
        assert deliveries[0]["attempts"] == 2
    finally:
        rx.close()
        api.close()


def test_workflow_webhook_step_runs_on_the_servers_workers(private_server):
    api = private_server.client()
    rx = Receiver()
    try:
        r = api.post(API + "/workflows", body={
            "name": "notify erp " + uuid.uuid4().hex[:6],
            "trigger": {"event": "thread.created"},
            "conditions": {"field": "thread.subject", "op": "starts_with", "value": "ERP"},
            "steps": [{"action": "webhook", "url": rx.url + "/erp",
                       "body": {"subject": "{{thread.subject}}"}}]})
        assert r.status == 201, r
        t = api.post(API + "/communications/threads", body={"subject": "ERP sync <PO 77>"})
        assert t.status == 201, t
        wait_for(lambda: any(p == "/erp" for p, _, _ in rx.requests))
        path, headers, body = [x for x in rx.requests if x[0] == "/erp"][0]
        assert headers["Idempotency-Key"].startswith(
            api.get(API + "/communications/threads/" + t.data["id"] + "/runs").data[0]["id"])
        payload = json.loads(body)
        assert payload["data"] == {"subject": "ERP sync <PO 77>"}
        assert payload["thread"]["id"] == t.data["id"]
    finally:
        rx.close()
        api.close()
