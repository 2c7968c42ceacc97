#!/usr/bin/env python3
"""Time from sending POST /api/v1/compose/suggest (Accept: text/event-stream) to the first SSE
`context` event, through a running banxway-server; the model's own latency (context -> first
delta, context -> done) is reported separately.

    bench/compose_sse.py --url http://127.0.0.1:8000 --key bxk_... [--requests 300] [--mode auto]

Thread ids are read from GET /api/v1/communications/threads (the first 200). Sequential
requests, one connection each (as a browser's EventSource opens them)."""

import argparse
import http.client
import json
import random
import statistics
import time
import urllib.parse


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--mode", default="auto")
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.url)
    auth = {"Authorization": "Bearer " + a.key}
    c = http.client.HTTPConnection(u.hostname, u.port)
    c.request("GET", "/api/v1/communications/threads?limit=200", headers=auth)
    threads = [t["id"] for t in json.loads(c.getresponse().read())["data"]]
    c.close()
    first, to_delta, to_done = [], [], []
    for i in range(a.requests):
        t = random.choice(threads)
        body = json.dumps({"thread_id": t, "mode": a.mode})
        t0 = time.perf_counter()
        c = http.client.HTTPConnection(u.hostname, u.port)
        c.request("POST", "/api/v1/compose/suggest", body=body,
                  headers=dict(auth, **{"Content-Type": "application/json",
                                        "Accept": "text/event-stream"}))
        r = c.getresponse()
        assert r.status == 200, r.read()
        t_ctx = t_delta = None
        for line in r.fp:
            if line.startswith(b"event: context") and t_ctx is None:
                t_ctx = time.perf_counter()
            elif line.startswith(b"event: delta") and t_delta is None:
                t_delta = time.perf_counter()
            elif line.startswith(b"event: done"):
                break
        t_end = time.perf_counter()
        r.close()
        c.close()
        first.append((t_ctx - t0) * 1000)
        to_delta.append((t_delta - t_ctx) * 1000)
        to_done.append((t_end - t_ctx) * 1000)
    print("requests: %d (mode %s)" % (a.requests, a.mode))
    for name, v in (("request -> context event", first), ("context -> first delta", to_delta),
                    ("context -> done", to_done)):
        print("%-26s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms" %
              (name, statistics.median(v), pct(v, 0.99), max(v)))


if __name__ == "__main__":
    main()
