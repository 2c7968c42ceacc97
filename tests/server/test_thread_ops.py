"""Thread operation and notification routes, over real HTTP on each backend."""

import uuid

API = "/api/v1"
THREADS = API + "/communications/threads"
NOTIFICATIONS = API + "/notifications"


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def create_thread(api, subject=None):
    r = api.post(THREADS, body={"subject": subject or unique("thread")})
    assert r.status == 201, r
    return r.data["id"]


def user_client(server, api, role="agent", name=None):
    """A new user of the organization and a client authenticated as that user."""
    body = {"email": unique("u") + "@ops.example", "role": role}
    if name:
        body["name"] = name
    r = api.post(API + "/users", body=body)
    assert r.status == 201, r
    user = r.data
    r = api.post(API + "/apikeys", body={"role": role, "user_id": user["id"]})
    assert r.status == 201, r
    return user, server.client(r.data["key"])


def test_assign_notifies_and_read_routes(server, api):
    ravi, ravi_api = user_client(server, api, name="Ravi")
    try:
        t = create_thread(api, "Booking for Nhava Sheva")
        r = api.post(THREADS + "/" + t + "/assign", body={"assignee_id": ravi["id"]})
        assert r.status == 200, r
        assert r.data["assignee_id"] == ravi["id"]

        r = api.get(THREADS + "/" + t + "/followers")
        assert r.status == 200, r
        assert [f["user_id"] for f in r.data] == [ravi["id"]]

        r = ravi_api.get(NOTIFICATIONS + "/unread-count")
        assert r.status == 200, r
        assert r.data["unread_count"] == 1
        r = ravi_api.get(NOTIFICATIONS, params={"unread_only": "true"})
        assert r.status == 200, r
        assert len(r.data) == 1 and r.data[0]["kind"] == "assigned"
        nid = r.data[0]["id"]

        r = ravi_api.post(NOTIFICATIONS + "/" + nid + "/read")
        assert r.status == 200, r
        assert r.data["read_at"] is not None
        r = ravi_api.post(NOTIFICATIONS + "/read-all")
        assert r.status == 200, r
        assert r.data["marked"] == 0
        assert ravi_api.get(NOTIFICATIONS + "/unread-count").data["unread_count"] == 0

        r = ravi_api.patch(NOTIFICATIONS + "/preferences", body={"kind": "mention", "email": "always"})
        assert r.status == 200, r
        prefs = {p["kind"]: p for p in ravi_api.get(NOTIFICATIONS + "/preferences").data["items"]}
        assert prefs["mention"]["email"] == "always"
        assert prefs["assigned"]["email"] == "never"

        # The admin key has no user: notifications are refused with a clear message.
        r = api.get(NOTIFICATIONS)
        assert r.status == 403, r
        assert r.error_code == "permission_denied"

        r = api.post(THREADS + "/" + t + "/unassign")
        assert r.status == 200, r
        assert r.data["assignee_id"] is None
    finally:
        ravi_api.close()


def test_follow_merge_split_and_bulk(server, api):
    mia, mia_api = user_client(server, api)
    try:
        target = create_thread(api, "Target")
        source = create_thread(api, "Source")
        r = mia_api.post(THREADS + "/" + source + "/follow")
        assert r.status == 200, r
        assert r.data["following"] is True
        r = api.post(API + "/communications/notes", body={"thread_id": source, "text": "first"})
        assert r.status == 201, r
        r = api.post(API + "/communications/notes", body={"thread_id": source, "text": "second"})
        assert r.status == 201, r

        r = api.post(THREADS + "/" + target + "/merge", body={"source_id": source})
        assert r.status == 200, r
        assert r.data["id"] == target
        followers = api.get(THREADS + "/" + target + "/followers").data
        assert mia["id"] in [f["user_id"] for f in followers]
        notes = api.get(THREADS + "/" + target + "/messages").data
        assert [m["text"] for m in notes] == ["first", "second"]
        r = api.post(THREADS + "/" + target + "/merge", body={"source_id": source})
        assert r.status == 409, r

        r = api.post(API + "/communications/messages/" + notes[1]["id"] + "/split",
                     body={"subject": "Split off"})
        assert r.status == 200, r
        assert r.data["thread"]["subject"] == "Split off"
        assert r.data["moved_message_ids"] == [notes[1]["id"]]
        assert [m["text"] for m in api.get(THREADS + "/" + target + "/messages").data] == ["first"]

        r = mia_api.post(THREADS + "/" + target + "/unfollow")
        assert r.status == 200, r
        assert r.data["following"] is False

        ids = [create_thread(api) for _ in range(3)]
        r = api.post(THREADS + "/bulk", body={"ids": ids, "status": "closed"})
        assert r.status == 200, r
        assert r.data["updated"] == 3
        assert all(api.get(THREADS + "/" + i).data["status"] == "closed" for i in ids)
        r = api.post(THREADS + "/bulk", body={"ids": ids + [str(uuid.uuid4())], "status": "open"})
        assert r.status == 404, r
        assert all(api.get(THREADS + "/" + i).data["status"] == "closed" for i in ids)
    finally:
        mia_api.close()
