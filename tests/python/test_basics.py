"""Engine lifecycle, bootstrap and the common operations through the Python API."""

import datetime
import re
import uuid

import pytest

import banxway


def test_version_and_exports():
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", banxway.__version__)
    assert banxway.__version__ == banxway._banxway.__version__
    for name in banxway.__all__:
        assert hasattr(banxway, name), name


def test_bootstrap_returns_org_and_key():
    with banxway.Engine("sqlite::memory:") as e:
        assert e.empty()
        b = e.bootstrap("Acme Freight")
        assert set(b) == {"org", "api_key"}
        assert b["api_key"].startswith("bxk_")
        assert b["org"]["name"] == "Acme Freight"
        uuid.UUID(b["org"]["id"])
        assert not e.empty()
        # bootstrap without use= leaves the engine without a credential
        with pytest.raises(banxway.Unauthenticated):
            e.call("orgs.get")
        e.use_key(b["api_key"])
        assert e.call("orgs.get")["id"] == b["org"]["id"]
        who = e.whoami()
        assert who.org_id == b["org"]["id"]
        assert who.role == "admin"
        assert who.actor_type == "api_key"


def test_api_key_constructor_argument(tmp_path):
    url = f"sqlite://{tmp_path}/bx.db"
    with banxway.Engine(url) as e:
        key = e.bootstrap("Keyed")["api_key"]
    with banxway.Engine(url, api_key=key) as e:
        assert e.call("orgs.get")["name"] == "Keyed"


def test_threads_create_list_get_update(engine):
    t = engine.call("threads.create", subject="Rate request FCL Mumbai-Rotterdam",
                    priority="high", tags=["rates", "fcl"])
    uuid.UUID(t["id"])
    assert t["subject"] == "Rate request FCL Mumbai-Rotterdam"
    assert t["priority"] == "high"
    assert t["status"] == "open"

    got = engine.call("threads.get", id=t["id"])
    assert got["id"] == t["id"]
    assert got["subject"] == t["subject"]

    page = engine.call("threads.list")
    assert set(page) >= {"items", "next_cursor"}
    assert [x["id"] for x in page["items"]] == [t["id"]]
    assert page["next_cursor"] is None

    upd = engine.call("threads.update", id=t["id"], status="resolved", priority="low")
    assert upd["status"] == "resolved"
    assert upd["priority"] == "low"
    assert engine.call("threads.get", id=t["id"])["status"] == "resolved"

    # filters reach the library
    assert engine.call("threads.list", status="open")["items"] == []
    assert len(engine.call("threads.list", status="resolved")["items"]) == 1


def test_pagination_cursor(engine):
    created = {engine.call("threads.create", subject=f"thread {i}")["id"] for i in range(7)}
    seen = []
    params = {"limit": 3}
    pages = 0
    while True:
        page = engine.call_with("threads.list", params)
        pages += 1
        assert len(page["items"]) <= 3
        seen += [t["id"] for t in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created
    # the helper walks the same pages
    assert [t["id"] for t in engine.paginate("threads.list", limit=2)] == seen


def test_notes(engine):
    t = engine.call("threads.create", subject="Customs hold")
    n1 = engine.call("messages.create_note", thread_id=t["id"], text="Called the broker")
    n2 = engine.call("messages.create_note", thread_id=t["id"], text="Docs resent ✓")
    msgs = engine.call("messages.list", thread_id=t["id"])["items"]
    assert [m["id"] for m in msgs] == [n1["id"], n2["id"]]  # oldest first
    assert msgs[1]["thread_id"] == t["id"]
    assert "Docs resent ✓" in str(msgs[1])  # non-ASCII survives the round trip


def test_customers_and_contacts(engine):
    cust = engine.call("customers.create", name="Maersk Line", domains=["maersk.com"],
                       tier="gold")
    assert cust["name"] == "Maersk Line"
    other = engine.call("customers.create", name="Hapag-Lloyd")
    assert [c["id"] for c in engine.call("customers.list", q="Mae")["items"]] == [cust["id"]]

    contact = engine.call("contacts.create", name="Priya Shah", title="Ops",
                          customer_id=cust["id"],
                          identities=[{"kind": "email", "value": "Priya@Maersk.com"}])
    assert contact["customer_id"] == cust["id"]
    engine.call("contacts.create", name="Jan Berg", customer_id=other["id"])
    listed = engine.call("contacts.list", customer_id=cust["id"])["items"]
    assert [c["id"] for c in listed] == [contact["id"]]
    got = engine.call("contacts.get", id=contact["id"])
    assert got["name"] == "Priya Shah"

    upd = engine.call("customers.update", id=cust["id"], tier="platinum")
    assert upd["tier"] == "platinum"

    engine.call("contacts.delete", id=contact["id"])
    with pytest.raises(banxway.NotFound):
        engine.call("contacts.get", id=contact["id"])
    engine.call("customers.delete", id=other["id"])
    with pytest.raises(banxway.NotFound):
        engine.call("customers.get", id=other["id"])


def test_call_with_mapping_and_other_credential(engine):
    t = engine.call_with("threads.create", {"subject": "via mapping"})
    key = engine.call("apikeys.create", role="viewer", name="ro")["key"]
    assert key.startswith("bxk_")
    got = engine.call_with("threads.get", {"id": t["id"]}, credential=key)
    assert got["id"] == t["id"]
    with pytest.raises(banxway.PermissionDenied):
        engine.call_with("threads.create", {"subject": "nope"}, credential=key)
    viewer = engine.as_key(key)
    assert viewer.call("threads.get", id=t["id"])["id"] == t["id"]
    assert viewer.whoami().role == "viewer"
    # the engine's own key is untouched by the view
    assert engine.whoami().role == "admin"


def test_datetime_params_are_encoded(engine):
    t = engine.call("threads.create", subject="snoozed")
    until = datetime.datetime(2031, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    upd = engine.call("threads.update", id=t["id"], status="snoozed", snoozed_until=until)
    assert upd["snoozed_until"].startswith("2031-01-02T03:04:05")
    with pytest.raises(banxway.InvalidArgument):  # naive datetimes are ambiguous
        engine.call("threads.update", id=t["id"], snoozed_until=datetime.datetime(2031, 1, 2))


def test_as_org_system_principal(engine, org):
    view = engine.as_org(org["id"], label="pytest")
    who = view.whoami()
    assert who.actor_type == "system"
    assert who.actor_id == "pytest"
    assert who.role == "admin"
    t = view.call("threads.create", subject="from a trusted script")
    assert engine.call("threads.get", id=t["id"])["id"] == t["id"]
    with pytest.raises(banxway.NotFound):
        engine.as_org(str(uuid.uuid4()))
    with pytest.raises(banxway.InvalidArgument):
        engine.as_org("not-a-uuid")


def test_operation_namespaces(engine):
    t = engine.threads.create(subject="namespaced")
    assert engine.threads.get(id=t["id"])["subject"] == "namespaced"
    assert "create" in dir(engine.threads)
    with pytest.raises(AttributeError):
        engine.threads.explode
    with pytest.raises(AttributeError):
        engine.no_such_group
    assert not hasattr(engine, "no_such_group")


def test_operations_ping_schema(engine):
    ops = {o["name"]: o for o in engine.operations()}
    for name in ("threads.create", "threads.list", "messages.create_note", "customers.create",
                 "contacts.list", "events.list"):
        assert name in ops
    assert ops["threads.list"]["is_list"] is True
    assert ops["threads.create"]["is_write"] is True
    assert ops["threads.create"]["params_schema"]["type"] == "object"
    assert "subject" in ops["threads.create"]["params_schema"]["properties"]
    assert engine.ping() is True
    assert engine.schema_version() >= 1


def test_close_and_context_manager():
    e = banxway.Engine("sqlite::memory:")
    e.bootstrap("Closing", use=True)
    assert not e.closed
    with e:
        e.call("orgs.get")
    assert e.closed
    e.close()  # idempotent
    with pytest.raises(banxway.Unavailable):
        e.call("orgs.get")
    with pytest.raises(banxway.Unavailable):
        e.ping()
    assert "closed" in repr(e)


def test_from_env(monkeypatch, tmp_path):
    url = f"sqlite://{tmp_path}/env.db"
    with banxway.Engine(url) as e:
        key = e.bootstrap("From env")["api_key"]
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("BANXWAY_API_KEY", key)
    with banxway.Engine.from_env() as e:
        assert e.call("orgs.get")["name"] == "From env"
    with banxway.Engine.from_env(url="sqlite::memory:", api_key=None) as e:
        assert e.empty()


def test_outbox_jobs_from_python(engine):
    """messages.send queues; run_pending steps the worker (the send fails fast: nothing listens
    on port 1), start/stop run workers in the background; the GIL is released meanwhile."""
    acct = engine.call("channels.create", channel="email", name="Desk",
                       address="desk@forwarder.example",
                       config={"smtp": {"host": "127.0.0.1", "port": 1, "security": "plain",
                                        "timeout_seconds": 5}})
    assert acct["secrets"] == []
    m = engine.call("messages.send", channel_account_id=acct["id"], to=["a@acme.example"],
                    subject="Rates", text="Hello")
    assert m["status"] == "queued"
    # run_pending counts the events it handed to consumers (message analysis reads them) and
    # the jobs it ran; the send job's effect is what is checked.
    assert engine.run_pending() >= 1
    [row] = engine.call("messages.list", thread_id=m["thread_id"])["items"]
    assert row["status"] == "queued" and row["attempts"] == 1  # transient: retried later
    assert "smtp" in row["error"]
    engine.run_pending()  # hands the attempt's events to consumers; the job itself backs off
    [row] = engine.call("messages.list", thread_id=m["thread_id"])["items"]
    assert row["attempts"] == 1
    engine.start(1)
    engine.stop()
    later = engine.call("messages.send", channel_account_id=acct["id"], to=["a@acme.example"],
                        subject="Later", text="x", send_at=datetime.datetime(
                            2099, 1, 1, tzinfo=datetime.timezone.utc))
    assert engine.call("messages.cancel", id=later["id"])["status"] == "cancelled"
    with pytest.raises(banxway.Conflict):
        engine.call("messages.cancel", id=later["id"])


def test_relayed_webhook_from_python(engine):
    """A host relaying provider webhooks (webhooks.receive) gets the same checks and processing
    as the server's routes: token verified, stored, drained by the job."""
    acct = engine.call("channels.create", channel="whatsapp", provider="exotel", name="WA",
                       config={"account_sid": "acme1", "from": "+919000000001"},
                       secrets={"api_key": "k", "api_token": "t"})
    body = ('{"whatsapp":{"messages":[{"callback_type":"incoming_message","sid":"py-1",'
            '"from":"+919820012345","to":"+919000000001","profile_name":"Ravi",'
            '"content":{"type":"text","text":{"body":"pelicanfox where is my box"}}}]}}')
    r = engine.call("webhooks.receive", provider="exotel", channel="whatsapp",
                    token=acct["webhook_token"], content_type="application/json", body=body)
    assert r["status"] == 200
    with pytest.raises(banxway.Unauthenticated):
        engine.call("webhooks.receive", provider="exotel", channel="whatsapp",
                    token=acct["webhook_token"] + "x", body=body)
    assert engine.run_pending() >= 1
    found = engine.call("search.messages", q="pelicanfox")["items"]
    assert len(found) == 1 and found[0]["channel"] == "whatsapp"


def test_workflow_from_python(engine):
    """A workflow defined from a script runs when the host steps the engine."""
    wf = engine.call("workflows.create", name="tag customs holds",
                     trigger={"event": "thread.created"},
                     conditions={"field": "thread.subject", "op": "contains", "value": "customs"},
                     steps=[{"action": "add_tag", "value": "customs"},
                            {"action": "set_priority", "value": "high"}])
    hold = engine.call("threads.create", subject="Customs hold at Chennai")
    other = engine.call("threads.create", subject="Rate request")
    while engine.run_pending():
        pass
    assert engine.call("threads.get", id=hold["id"])["tags"] == ["customs"]
    assert engine.call("threads.get", id=hold["id"])["priority"] == "high"
    assert engine.call("threads.get", id=other["id"])["tags"] == []
    runs = engine.call("workflows.runs", id=wf["id"])["items"]
    assert [r["status"] for r in runs] == ["completed"]
    history = engine.call("workflow_runs.get", id=runs[0]["id"])["history"]
    assert [h["action"] for h in history] == ["trigger", "add_tag", "set_priority"]


def test_compose_from_python(db_url):
    """Reply drafts from a script: offline templates, then through a model server (the stand-in
    of tests/support/fake_llm.py) configured with the `ai` settings."""
    import os
    import subprocess
    import sys
    fake = os.path.join(os.path.dirname(__file__), "..", "support", "fake_llm.py")
    p = subprocess.Popen([sys.executable, fake, "--port", "0"], stdout=subprocess.PIPE)
    try:
        port = int(p.stdout.readline().decode().split()[1])
        ai = {"provider": "openai", "base_url": "http://127.0.0.1:%d/v1" % port, "model": "echo",
              "allow_private_network": True, "analyze_messages": False}
        with banxway.Engine(db_url, ai=ai) as e:
            e.bootstrap(f"Compose {uuid.uuid4().hex[:8]}", use=True)
            t = e.call("threads.create", subject="Booking BKG-1")
            rules = e.call("compose.suggest", thread_id=t["id"], mode="rules", count=2)
            assert rules["source"] == "rules" and len(rules["drafts"]) == 2
            llm = e.call("compose.suggest", thread_id=t["id"])
            assert llm["source"] == "llm"
            assert llm["drafts"][0]["text"].startswith("Draft: ")
            assert e.call("ai.usage")["by_feature"][0]["feature"] == "compose.suggest"
        with pytest.raises(ValueError):
            banxway.Engine(db_url, ai={"colour": "blue"})
    finally:
        p.terminate()
        p.wait(timeout=10)
