"""Routes mapped onto operations, exercised over real HTTP on each backend."""

import os
import uuid

import pytest

from server_harness import cli_bin, run_cli

API = "/api/v1"
COMM = API + "/communications"
THREADS = COMM + "/threads"


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def create_thread(api, subject=None, **fields):
    body = {"subject": subject or unique("subject")}
    body.update(fields)
    r = api.post(THREADS, body=body)
    assert r.status == 201, r
    assert r.json["success"] is True
    return r.data


def test_threads_create_get_patch(api):
    t = create_thread(api, "Booking 4711 for Hamburg", priority="high")
    assert t["subject"] == "Booking 4711 for Hamburg"
    assert t["priority"] == "high"

    r = api.get(THREADS + "/" + t["id"])
    assert r.status == 200, r
    assert r.data["id"] == t["id"]

    r = api.patch(THREADS + "/" + t["id"], body={"status": "pending", "tags": ["vip"]})
    assert r.status == 200, r
    assert r.data["status"] == "pending"
    assert r.data["tags"] == ["vip"]

    # The id in the body may repeat the path's, but not contradict it.
    r = api.patch(THREADS + "/" + t["id"], body={"id": t["id"], "priority": "low"})
    assert r.status == 200, r
    r = api.patch(THREADS + "/" + t["id"], body={"id": str(uuid.uuid4()), "priority": "low"})
    assert r.status == 400, r
    assert r.error_code == "invalid_argument"


def test_threads_list_pagination(api):
    tag = unique("page")
    made = {create_thread(api, tags=[tag])["id"] for _ in range(5)}
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, "tag": tag}
        if cursor:
            params["cursor"] = cursor
        r = api.get(THREADS, params=params)
        assert r.status == 200, r
        assert isinstance(r.json["data"], list)
        assert "next_cursor" in r.json["pagination"]
        assert len(r.json["data"]) <= 2
        seen += [t["id"] for t in r.json["data"]]
        pages += 1
        cursor = r.json["pagination"]["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
        assert pages < 10
    assert set(seen) == made
    assert len(seen) == len(made)  # no duplicates across pages
    assert pages >= 3


def test_thread_filters_from_query(api):
    t = create_thread(api, status="pending", tags=[unique("f")])
    r = api.get(THREADS, params={"status": "pending", "tag": t["tags"][0]})
    assert [x["id"] for x in r.data] == [t["id"]]
    r = api.get(THREADS, params={"status": "no-such-status"})
    assert r.status == 400, r


def test_unknown_thread_is_404(api):
    r = api.get(THREADS + "/" + str(uuid.uuid4()))
    assert r.status == 404, r
    assert r.error_code == "not_found"


def test_notes_and_messages(api):
    t = create_thread(api)
    r = api.post(THREADS + "/" + t["id"] + "/notes", body={"text": "first note"})
    assert r.status == 201, r
    r = api.post(COMM + "/notes", body={"thread_id": t["id"], "text": "second note"})
    assert r.status == 201, r
    r = api.get(THREADS + "/" + t["id"] + "/messages")
    assert r.status == 200, r
    texts = [m["text"] for m in r.data]
    assert texts == ["first note", "second note"]  # oldest first
    assert all(m["channel"] == "note" for m in r.data)
    assert r.json["pagination"]["next_cursor"] is None

    r = api.get(THREADS + "/" + t["id"] + "/messages", params={"limit": 1})
    assert len(r.data) == 1 and r.json["pagination"]["next_cursor"]

    other = str(uuid.uuid4())
    r = api.post(THREADS + "/" + t["id"] + "/notes", body={"thread_id": other, "text": "x"})
    assert r.status == 400, r


def test_search_finds_a_note(api):
    t = create_thread(api)
    word = "zebracontainer" + uuid.uuid4().hex[:6]
    api.post(THREADS + "/" + t["id"] + "/notes", body={"text": "container %s arrives" % word})
    r = api.get(API + "/search", params={"q": word})
    assert r.status == 200, r
    assert any(m.get("thread_id") == t["id"] for m in r.data), r
    r = api.get(API + "/search")
    assert r.status == 400, r  # q is required


def test_customers_crud(api):
    name = unique("Acme Logistics")
    r = api.post(API + "/customers",
                 body={"name": name, "domains": ["acme.example"], "tier": "gold"})
    assert r.status == 201, r
    c = r.data
    assert c["name"] == name
    r = api.get(API + "/customers/" + c["id"])
    assert r.status == 200 and r.data["id"] == c["id"]
    r = api.patch(API + "/customers/" + c["id"], body={"tier": "silver"})
    assert r.status == 200, r
    assert r.data["tier"] == "silver"
    r = api.get(API + "/customers", params={"q": name[:12], "limit": 50})
    assert r.status == 200, r
    assert c["id"] in [x["id"] for x in r.data]
    r = api.delete(API + "/customers/" + c["id"])
    assert r.status == 200, r
    assert api.get(API + "/customers/" + c["id"]).status == 404


def test_contacts_crud(api):
    cust = api.post(API + "/customers", body={"name": unique("Contact Co")}).data
    email = unique("anna") + "@example.test"
    r = api.post(API + "/contacts", body={
        "name": "Anna", "customer_id": cust["id"],
        "identities": [{"kind": "email", "value": email}]})
    assert r.status == 201, r
    ct = r.data
    r = api.get(API + "/contacts/" + ct["id"])
    assert r.status == 200, r
    assert r.data["name"] == "Anna"
    r = api.patch(API + "/contacts/" + ct["id"], body={"title": "Ops lead"})
    assert r.status == 200, r
    assert r.data["title"] == "Ops lead"
    r = api.get(API + "/contacts", params={"customer_id": cust["id"]})
    assert [x["id"] for x in r.data] == [ct["id"]]
    # The same identity twice in one organization is refused.
    r = api.post(API + "/contacts", body={"identities": [{"kind": "email", "value": email}]})
    assert r.status in (400, 409), r
    r = api.delete(API + "/contacts/" + ct["id"])
    assert r.status == 200, r
    assert api.get(API + "/contacts/" + ct["id"]).status == 404


def test_users(api):
    email = unique("agent") + "@example.test"
    r = api.post(API + "/users", body={"email": email, "role": "agent", "name": "Ag Ent"})
    assert r.status == 201, r
    u = r.data
    assert u["role"] == "agent"
    assert api.get(API + "/users/" + u["id"]).data["email"] == email
    r = api.patch(API + "/users/" + u["id"], body={"name": "Agent Smith", "active": False})
    assert r.status == 200, r
    assert r.data["name"] == "Agent Smith" and r.data["active"] is False
    r = api.get(API + "/users", params={"limit": 200})
    assert u["id"] in [x["id"] for x in r.data]
    r = api.request("DELETE", API + "/users/" + u["id"])
    assert r.status == 405, r


def test_actions(api):
    t = create_thread(api)
    r = api.post(COMM + "/actions",
                 body={"title": "Send B/L draft", "thread_id": t["id"], "type": "task"})
    assert r.status == 201, r
    a = r.data
    assert api.get(COMM + "/actions/" + a["id"]).data["title"] == "Send B/L draft"
    r = api.patch(COMM + "/actions/" + a["id"], body={"status": "done"})
    assert r.status == 200, r
    assert r.data["status"] == "done"
    r = api.get(COMM + "/actions", params={"thread_id": t["id"]})
    assert [x["id"] for x in r.data] == [a["id"]]


def test_org_and_events(api):
    r = api.get(API + "/org")
    assert r.status == 200, r
    assert r.data["id"]
    create_thread(api)
    r = api.get(API + "/events", params={"limit": 5})
    assert r.status == 200, r
    assert isinstance(r.data, list)
    r = api.get(API + "/events", params={"after": "x"})
    assert r.status == 400, r
    assert r.json["error"]["details"]["param"] == "after"


def test_api_keys_roles_and_revocation(api, server):
    r = api.post(API + "/apikeys", body={"role": "viewer", "name": "read-only"})
    assert r.status == 201, r
    key, key_id = r.data["key"], r.data["id"]
    assert key.startswith("bxk_")
    listed = api.get(API + "/apikeys").data
    assert key_id in [k["id"] for k in listed]
    assert all("key" not in k for k in listed)  # secrets are never listed

    viewer = server.client(key=key)
    assert viewer.get(THREADS).status == 200
    r = viewer.post(THREADS, body={"subject": "not allowed"})
    assert r.status == 403, r
    assert r.error_code == "permission_denied"

    r = api.delete(API + "/apikeys/" + key_id)
    assert r.status == 200, r
    r = viewer.get(THREADS)
    assert r.status == 401, r
    viewer.close()


def test_generic_ops_route(api):
    r = api.post(API + "/ops/threads.list", body={"limit": 1})
    assert r.status == 200, r
    assert isinstance(r.data, list) and "pagination" in r.json
    r = api.post(API + "/ops/threads.create", body={"subject": "via ops"})
    assert r.status == 201, r
    r = api.post(API + "/ops/orgs.get")
    assert r.status == 200 and r.data["id"]
    r = api.post(API + "/ops/no.such_op")
    assert r.status == 404, r
    assert api.get(API + "/ops/threads.list").status == 405


@pytest.mark.skipif(not os.path.exists(cli_bin()), reason="banxway CLI not built")
def test_other_organizations_threads_are_invisible(api, server):
    org = run_cli(server.db_url, "org", "create", unique("Second org"))
    key = run_cli(server.db_url, "apikey", "create", "--org", org["id"], "--role", "admin")["key"]
    other = server.client(key=key)
    theirs = other.post(THREADS, body={"subject": "their secret"}).data
    mine = create_thread(api)

    assert api.get(THREADS + "/" + theirs["id"]).status == 404
    assert other.get(THREADS + "/" + mine["id"]).status == 404
    r = api.patch(THREADS + "/" + theirs["id"], body={"status": "closed"})
    assert r.status == 404, r
    r = api.post(THREADS + "/" + theirs["id"] + "/notes", body={"text": "x"})
    assert r.status == 404, r
    ids = [t["id"] for t in other.get(THREADS, params={"limit": 200}).data]
    assert theirs["id"] in ids and mine["id"] not in ids
    assert other.get(API + "/org").data["id"] == org["id"]
    other.close()


def test_channels_and_outbox_routes(api):
    body = {"channel": "email", "name": unique("desk"), "address": "desk@forwarder.example",
            "config": {"smtp": {"host": "127.0.0.1", "port": 2525, "security": "plain"}},
            "secrets": {"smtp_password": "never-shown-42"}}
    r = api.post(API + "/channels", body=body)
    assert r.status == 201, r
    acct = r.data
    assert acct["secrets"] == ["smtp_password"]
    assert "never-shown-42" not in r.raw
    r = api.get(API + "/channels/" + acct["id"])
    assert r.status == 200 and r.data["status"] == "ok", r
    assert "never-shown-42" not in r.raw
    r = api.patch(API + "/channels/" + acct["id"], body={"name": "Renamed desk"})
    assert r.status == 200 and r.data["name"] == "Renamed desk", r
    assert any(a["id"] == acct["id"] for a in api.get(API + "/channels").data)

    # A scheduled send to a new thread, then cancelled before it goes out.
    r = api.post(COMM + "/messages", body={"channel_account_id": acct["id"],
                                           "to": ["priya@acme.example"], "subject": "Rates",
                                           "text": "Rates attached.",
                                           "send_at": "2099-01-01T00:00:00Z"})
    assert r.status == 202, r  # accepted: queued for delivery
    m = r.data
    assert m["status"] == "queued" and m["direction"] == "outbound"
    assert m["message_id"].startswith("bx." + m["thread_id"] + ".")
    r = api.post(COMM + "/messages/" + m["id"] + "/cancel", body={})
    assert r.status == 200 and r.data["status"] == "cancelled", r
    r = api.post(COMM + "/messages/" + m["id"] + "/cancel", body={})
    assert r.status == 409, r

    # Replies go through the thread's messages route; CR/LF in a header value is a 400.
    r = api.post(THREADS + "/" + m["thread_id"] + "/messages",
                 body={"text": "Following up", "subject": "x\r\nBcc: spy@evil.example",
                       "send_at": "2099-01-01T00:00:00Z"})
    assert r.status == 400, r
    assert "subject" in r.json["error"]["message"]
