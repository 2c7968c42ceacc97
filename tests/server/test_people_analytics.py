"""The people and analytics routes over HTTP: users (me, invite, role, deactivate), contact
merge, customer overview, and the three analytics reports — status codes and envelopes as the
frontend sees them, on every backend."""

import uuid

API = "/api/v1"


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def test_users_me_invite_role_deactivate(api, server):
    r = api.get(API + "/users/me")
    assert r.status == 400 and r.error_code == "invalid_argument", r  # an API key, no user
    r = api.post(API + "/users/invite", body={"email": unique("new") + "@example.test",
                                              "name": "New Agent", "role": "agent"})
    assert r.status == 201, r
    uid = r.data["id"]
    key = api.post(API + "/apikeys", body={"role": "agent", "user_id": uid}).data["key"]
    mine = server.client(key=key)
    r = mine.get(API + "/users/me")
    assert r.status == 200 and r.data["id"] == uid, r
    # An agent cannot change roles; an admin can.
    assert mine.post(API + "/users/" + uid + "/role", body={"role": "admin"}).status == 403
    r = api.post(API + "/users/" + uid + "/role", body={"role": "manager"})
    assert r.status == 200 and r.data["role"] == "manager", r
    r = api.post(API + "/users/" + uid + "/role", body={"role": "owner"})
    assert r.status == 400, r
    r = api.post(API + "/users/" + uid + "/deactivate")
    assert r.status == 200, r
    assert mine.get(API + "/users/me").status == 401
    mine.close()


def test_contact_merge_and_customer_overview(api):
    cust = api.post(API + "/customers", body={"name": unique("Overview Co")}).data
    a = api.post(API + "/contacts", body={
        "name": "Keep", "customer_id": cust["id"],
        "identities": [{"kind": "email", "value": unique("keep") + "@example.test"}]}).data
    b = api.post(API + "/contacts", body={
        "name": "Fold", "identities": [{"kind": "email", "value": unique("fold") + "@example.test"}]}).data
    t = api.post(API + "/communications/threads",
                 body={"subject": unique("s"), "contact_id": b["id"], "customer_id": cust["id"]})
    assert t.status == 201, t
    r = api.post(API + "/contacts/" + a["id"] + "/merge", body={"source_id": b["id"]})
    assert r.status == 200, r
    assert api.get(API + "/contacts/" + b["id"]).status == 404
    r = api.get(API + "/communications/threads/" + t.data["id"])
    assert r.data["contact_id"] == a["id"], r
    r = api.post(API + "/contacts/" + a["id"] + "/merge", body={"source_id": a["id"]})
    assert r.status == 400, r
    r = api.get(API + "/customers/" + cust["id"] + "/overview")
    assert r.status == 200, r
    assert r.data["open_threads"]["count"] >= 1 and r.data["contacts"]["count"] >= 1, r.data
    assert t.data["id"] in [x["id"] for x in r.data["open_threads"]["recent"]]
    assert api.get(API + "/customers/" + str(uuid.uuid4()) + "/overview").status == 404


def test_analytics_reports(api):
    api.post(API + "/communications/threads", body={"subject": unique("backlog")})
    r = api.get(API + "/analytics/volume", params={"from": "2026-01-01", "to": "2027-06-30"})
    assert r.status == 200, r
    r = api.get(API + "/analytics/response-times",
                params={"from": "2026-01-01", "to": "2027-12-31", "by": "channel"})
    assert r.status == 200, r
    r = api.get(API + "/analytics/backlog")
    assert r.status == 200, r
    r = api.get(API + "/analytics/volume", params={"from": "yesterday", "to": "2027-06-30"})
    assert r.status == 400 and r.error_code == "invalid_argument", r
    r = api.get(API + "/analytics/volume")
    assert r.status == 400, r
    r = api.get(API + "/analytics/volume", params={"from": "2020-01-01", "to": "2027-06-30"})
    assert r.status == 400 and "731 days" in r.json["error"]["message"], r
