"""The HTTP surface itself: built-in endpoints, authentication, envelopes, errors, limits, CORS."""

import json
import time

from conftest import CORS_ORIGIN
from server_harness import raw_exchange

THREADS = "/api/v1/communications/threads"


def test_bootstrap_prints_key_and_curl_line(server):
    assert server.key and server.key.startswith("bxk_")
    curl = [l for l in server.stdout_lines if l.strip().startswith("try: curl")]
    assert curl, server.stdout_lines
    assert "Authorization: Bearer %s" % server.key in curl[0]
    assert "%s%s" % (server.base, THREADS) in curl[0]
    assert ":%d/" % server.port in curl[0]  # the real port, not 0


def test_health(api):
    r = api.get("/health", auth=False)
    assert r.status == 200, r
    assert r.json["status"] == "ok"
    assert r.json["database"] == "ok"
    assert isinstance(r.json["version"], str) and r.json["version"]
    assert isinstance(r.json["schema_version"], int) and r.json["schema_version"] >= 1


def test_info_lists_operations(api):
    r = api.get("/api/v1", auth=False)
    assert r.status == 200, r
    assert r.json["name"] == "banxway"
    assert "threads.list" in r.json["operations"]
    assert "messages.create_note" in r.json["operations"]


def test_missing_credentials_is_401(api):
    r = api.get(THREADS, auth=False)
    assert r.status == 401, r
    assert r.error_code == "unauthenticated"
    assert r.header("WWW-Authenticate") == "Bearer"


def test_bad_key_is_401(server):
    c = server.client(key="bxk_notarealkeynotarealkeynotarealkey")
    r = c.get(THREADS)
    assert r.status == 401, r
    assert r.error_code == "unauthenticated"
    assert "bxk_" not in r.json["error"]["message"]  # never echo a credential
    c.close()


def test_x_api_key_header(api, server):
    r = api.get(THREADS, auth=False, headers={"X-API-Key": server.key})
    assert r.status == 200, r


def test_x_api_key_beats_a_non_bearer_authorization(api, server):
    r = api.get(THREADS, auth=False, headers={"X-API-Key": server.key,
                                               "Authorization": "Basic cHJveHk6cHc="})
    assert r.status == 200, r


def test_unknown_route_is_404(api):
    r = api.get("/api/v1/nothing-here")
    assert r.status == 404, r
    assert r.error_code == "not_found"
    assert api.get("/").status == 404


def test_wrong_method_is_405_with_allow(api):
    r = api.request("DELETE", THREADS)
    assert r.status == 405, r
    assert r.json["success"] is False
    allow = [m.strip() for m in r.header("Allow").split(",")]
    assert "GET" in allow and "POST" in allow and "DELETE" not in allow


def test_malformed_json_is_400(api):
    r = api.post(THREADS, body='{"subject": "oops"')
    assert r.status == 400, r
    assert r.error_code == "invalid_argument"
    # ... also when the path adds an id to merge
    r = api.patch(THREADS + "/0190c1f0-0000-7000-8000-000000000000", body="{not json")
    assert r.status == 400, r
    assert r.error_code == "invalid_argument"


def test_invalid_utf8_is_400(api):
    r = api.post(THREADS, body=b'{"subject": "caf\xe9"}')
    assert r.status == 400, r
    assert r.error_code == "invalid_argument"


def test_body_must_be_an_object(api):
    r = api.post(THREADS, body="[1, 2]")
    assert r.status == 400, r
    assert r.error_code == "invalid_argument"


def test_unknown_field_is_400(api):
    r = api.post(THREADS, body={"subject": "x", "no_such_field": 1})
    assert r.status == 400, r
    assert r.error_code == "invalid_argument"
    assert "no_such_field" in json.dumps(r.json["error"])


def test_non_json_content_type_is_415(api):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = api.post(THREADS, body="subject=x", headers=form)
    assert r.status == 415, r
    assert r.error_code == "invalid_argument"
    ok = api.post(THREADS, body={"subject": "charset ok"},
                  headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status == 201, ok


def test_query_value_that_does_not_coerce_is_400(api):
    r = api.get(THREADS, params={"limit": "many"})
    assert r.status == 400, r
    assert r.error_code == "invalid_argument"
    assert r.json["error"]["details"]["param"] == "limit"
    assert "limit" in r.json["error"]["message"]


def test_repeated_query_parameter_is_400(api):
    r = api.get(THREADS + "?limit=1&limit=2")
    assert r.status == 400, r
    assert r.json["error"]["details"]["param"] == "limit"


def test_malformed_percent_escape_is_400(api):
    r = api.get(THREADS + "?status=%zz")
    assert r.status == 400, r
    assert r.error_code == "invalid_argument"


def test_oversized_body_is_413(api):
    big = json.dumps({"subject": "x" * (1100 * 1024)})
    r = api.post(THREADS, body=big)
    assert r.status == 413, r
    assert r.error_code == "payload_too_large"


def test_oversized_headers_are_rejected(server):
    payload = ("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" % ("a" * 40000)).encode()
    out = raw_exchange(server.host, server.port, payload)
    assert out.startswith(b"HTTP/1.1 431"), out[:200]


def test_garbage_request_is_400(server):
    out = raw_exchange(server.host, server.port, b"NOT HTTP AT ALL\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400"), out[:200]


def test_keep_alive_reuses_the_connection(api):
    api.get("/health")
    sock = api.conn.sock
    for _ in range(5):
        assert api.get(THREADS).status == 200
    assert api.conn.sock is sock


def test_connection_close_is_honoured(api):
    r = api.get("/health", headers={"Connection": "close"})
    assert r.status == 200
    assert r.header("Connection").lower() == "close"


def test_cors_preflight(api):
    r = api.request("OPTIONS", THREADS, auth=False, headers={
        "Origin": CORS_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status == 204, r
    assert r.header("Access-Control-Allow-Origin") == CORS_ORIGIN
    methods = r.header("Access-Control-Allow-Methods")
    assert "POST" in methods and "GET" in methods
    assert "authorization" in r.header("Access-Control-Allow-Headers").lower()


def test_cors_simple_request_and_foreign_origin(api):
    r = api.get(THREADS, headers={"Origin": CORS_ORIGIN})
    assert r.status == 200
    assert r.header("Access-Control-Allow-Origin") == CORS_ORIGIN
    assert "Origin" in (r.header("Vary") or "")
    r = api.get(THREADS, headers={"Origin": "http://evil.example"})
    assert r.status == 200
    assert r.header("Access-Control-Allow-Origin") is None
    # Error responses carry CORS headers too, so a browser app can read them.
    r = api.get(THREADS, auth=False, headers={"Origin": CORS_ORIGIN})
    assert r.status == 401
    assert r.header("Access-Control-Allow-Origin") == CORS_ORIGIN


def test_access_log_has_requests_and_no_secrets(api, server):
    api.get(THREADS, params={"limit": 3})
    api.get("/health")
    # Access lines are written in batches, at least once a second.
    deadline = time.monotonic() + 5
    while True:
        log = server.stderr_text()
        if "GET %s 200" % THREADS in log or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "GET %s 200" % THREADS in log
    assert server.key not in log
    assert "limit=3" not in log  # query strings are not logged
