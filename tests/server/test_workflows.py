"""Workflow routes over real HTTP on each backend, with the server's own workers running the
runs (no host stepping): definitions, validation errors with their path, a run triggered by an
event, runs listed per workflow and per thread, a dry run, cancel."""

import uuid

from server_harness import wait_for

API = "/api/v1"
THREADS = API + "/communications/threads"
WORKFLOWS = API + "/workflows"


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def test_event_triggered_run_and_its_listings(server, api):
    tag = unique("vip")
    r = api.post(WORKFLOWS, body={
        "name": unique("tag vip threads"),
        "trigger": {"event": "thread.created"},
        "conditions": {"field": "thread.subject", "op": "starts_with", "value": "VIP"},
        "steps": [{"action": "add_tag", "value": tag},
                  {"action": "set_priority", "value": "urgent"}]})
    assert r.status == 201, r
    wf = r.data
    assert wf["version"] == 1 and wf["trigger_kind"] == "event"

    r = api.post(THREADS, body={"subject": "VIP: reefer plug-in at Mundra"})
    assert r.status == 201, r
    t = r.data["id"]
    other = api.post(THREADS, body={"subject": "Regular booking"}).data["id"]

    def applied():
        th = api.get(THREADS + "/" + t).data
        return th if th["priority"] == "urgent" else None
    th = wait_for(applied)
    assert tag in th["tags"]

    runs = api.get(WORKFLOWS + "/" + wf["id"] + "/runs")
    assert runs.status == 200, runs
    assert [x["thread_id"] for x in runs.data] == [t]
    run_id = runs.data[0]["id"]
    wait_for(lambda: api.get(API + "/workflow-runs/" + run_id).data["status"] == "completed")
    run = api.get(API + "/workflow-runs/" + run_id).data
    assert [h["action"] for h in run["history"]] == ["trigger", "add_tag", "set_priority"]

    by_thread = api.get(THREADS + "/" + t + "/runs")
    assert by_thread.status == 200, by_thread
    assert [x["id"] for x in by_thread.data] == [run_id]
    assert api.get(THREADS + "/" + other + "/runs").data == []
    assert api.get(THREADS + "/" + other).data["priority"] == "normal"


def test_validation_errors_name_the_path(server, api):
    r = api.post(WORKFLOWS, body={
        "name": unique("bad"),
        "trigger": {"event": "message.received"},
        "steps": [{"action": "wait", "for": "two hours"}]})
    assert r.status == 400, r
    assert r.error_code == "invalid_argument"
    assert "steps[0].for" in r.json["error"]["message"]


def test_wait_cancel_and_dry_run(server, api):
    r = api.post(WORKFLOWS, body={
        "name": unique("chase"),
        "trigger": {"manual": True},
        "steps": [{"action": "wait", "for": "P1D"},
                  {"action": "add_note", "text": "Chasing {{thread.subject}}"}]})
    assert r.status == 201, r
    wf = r.data["id"]
    t = api.post(THREADS, body={"subject": "Telex release"}).data["id"]

    r = api.post(WORKFLOWS + "/" + wf + "/test", body={"thread_id": t})
    assert r.status == 200, r
    assert [s["would"] for s in r.data["steps"]] == ["wait P1D", "add note: Chasing Telex release"]

    r = api.post(WORKFLOWS + "/" + wf + "/runs", body={"thread_id": t})
    assert r.status in (200, 201), r
    run_id = r.data["id"]
    wait_for(lambda: api.get(API + "/workflow-runs/" + run_id).data["status"] == "waiting")
    r = api.post(API + "/workflow-runs/" + run_id + "/cancel")
    assert r.status == 200, r
    assert r.data["status"] == "cancelled"
    r = api.post(API + "/workflow-runs/" + run_id + "/cancel")
    assert r.status == 409, r

    r = api.patch(WORKFLOWS + "/" + wf, body={"enabled": False})
    assert r.status == 200, r
    assert r.data["version"] == 2 and r.data["enabled"] is False
    versions = api.get(WORKFLOWS + "/" + wf + "/versions")
    assert [v["version"] for v in versions.data] == [2, 1]
    assert api.delete(WORKFLOWS + "/" + wf).status == 200
    assert api.get(WORKFLOWS + "/" + wf).status == 404
