"""The banxway command line, run as a user would: JSON on stdout, errors on stderr."""
import json
import os
import subprocess
import uuid

import pytest

CLI = os.environ.get("BANXWAY_CLI_BIN", "build/examples/cli/banxway")


def run(*args, db, check=True):
    p = subprocess.run([CLI, "--db", db, *args], capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"{args} exited {p.returncode}: {p.stderr}")
    return p


@pytest.fixture
def db(tmp_path):
    return f"sqlite://{tmp_path}/cli.db"


def test_migrate_org_user_key_and_call(db):
    out = json.loads(run("migrate", db=db).stdout)
    assert out["schema_version"] >= 1
    org = json.loads(run("org", "create", "Acme Logistics", db=db).stdout)
    assert org["name"] == "Acme Logistics"
    uuid.UUID(org["id"])
    user = json.loads(run("user", "create", "--org", org["id"], "--email", "ops@acme.example",
                          "--role", "agent", db=db).stdout)
    assert user["role"] == "agent" and user["email"] == "ops@acme.example"
    key = json.loads(run("apikey", "create", "--org", org["id"], "--role", "admin", db=db).stdout)
    assert key["key"].startswith("bxk_")
    created = json.loads(run("call", "threads.create", '{"subject":"From the CLI"}',
                             "--org", org["id"], db=db).stdout)
    listed = json.loads(run("call", "threads.list", '{"limit":5}', "--key", key["key"], db=db).stdout)
    assert [t["id"] for t in listed["items"]] == [created["id"]]
    # The write went through the operation API: it is in the event log.
    events = json.loads(run("call", "events.list", "{}", "--org", org["id"], db=db).stdout)
    assert "thread.created" in [e["type"] for e in events["items"]]
    # Reply drafts as JSON (no AI provider here: the offline templates).
    drafts = json.loads(run("call", "compose.suggest",
                            json.dumps({"thread_id": created["id"], "count": 2}),
                            "--key", key["key"], db=db).stdout)
    assert drafts["source"] == "rules" and len(drafts["drafts"]) == 2


def test_errors_are_json_on_stderr_with_nonzero_exit(db):
    org = json.loads(run("org", "create", "X", db=db).stdout)
    p = run("call", "threads.get", '{"id":"0190a0a0-0000-7000-8000-000000000999"}',
            "--org", org["id"], db=db, check=False)
    assert p.returncode == 1
    assert json.loads(p.stderr)["error"]["code"] == "not_found"
    p = run("call", "threads.create", '{"subject": 5}', "--org", org["id"], db=db, check=False)
    assert json.loads(p.stderr)["error"]["code"] == "invalid_argument"
    p = run("call", "threads.list", "{}", db=db, check=False)
    assert "--org" in p.stderr
    p = run("user", "create", "--org", org["id"], "--email", "bad", "--role", "agent", db=db, check=False)
    assert json.loads(p.stderr)["error"]["code"] == "invalid_argument"
    p = run("frobnicate", db=db, check=False)
    assert p.returncode == 2


def test_database_url_from_environment(tmp_path):
    env = dict(os.environ, DATABASE_URL=f"sqlite://{tmp_path}/env.db")
    p = subprocess.run([CLI, "migrate"], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "env.db").exists()


def test_ops_lists_every_operation_with_its_schema(db):
    ops = json.loads(run("ops", db=db).stdout)
    names = {o["name"] for o in ops}
    assert {"threads.list", "customers.create", "events.list"} <= names
    assert all(o["params"]["type"] == "object" for o in ops)


MBOX = (
    "From priya@acme.example Mon Nov  2 10:00:00 2026\n"
    "From: Priya <priya@acme.example>\nTo: ops@forwarder.example\nSubject: Booking MAEU1234\n"
    "Message-ID: <imp1@acme.example>\nDate: Mon, 02 Nov 2026 10:00:00 +0530\n\n"
    "Please confirm.\n>From the depot: gate-in done.\n\n"
    "From ops@forwarder.example Mon Nov  2 11:00:00 2026\n"
    "From: Ops <ops@forwarder.example>\nTo: Priya <priya@acme.example>\n"
    "Subject: Re: Booking MAEU1234\nMessage-ID: <imp2@forwarder.example>\n"
    "In-Reply-To: <imp1@acme.example>\nDate: Mon, 02 Nov 2026 11:00:00 +0530\n\nConfirmed.\n\n"
    "From priya@acme.example Mon Nov  2 10:00:00 2026\n"
    "From: Priya <priya@acme.example>\nTo: ops@forwarder.example\nSubject: Booking MAEU1234\n"
    "Message-ID: <imp1@acme.example>\nDate: Mon, 02 Nov 2026 10:00:00 +0530\n\n"
    "Please confirm (delivered twice).\n"
)


def test_import_mbox_and_maildir(db, tmp_path):
    org = json.loads(run("org", "create", "Importer", db=db).stdout)
    box = tmp_path / "inbox.mbox"
    box.write_text(MBOX)
    summary = json.loads(run("import", "mbox", "--org", org["id"], str(box), db=db).stdout)
    assert summary == {"read": 3, "messages": 2, "threads": 1, "duplicates": 1, "errors": []}
    threads = json.loads(run("call", "threads.list", "{}", "--org", org["id"], db=db).stdout)["items"]
    assert len(threads) == 1 and threads[0]["message_count"] == 2
    msgs = json.loads(run("call", "messages.list", json.dumps({"thread_id": threads[0]["id"]}),
                          "--org", org["id"], db=db).stdout)["items"]
    assert "From the depot" in msgs[0]["text"]  # the mboxrd escape was undone
    assert msgs[1]["in_reply_to"] == "imp1@acme.example"
    # Again: everything is a duplicate and nothing is written.
    again = json.loads(run("import", "mbox", "--org", org["id"], str(box), db=db).stdout)
    assert again["duplicates"] == 3 and again["messages"] == 0
    # A maildir with one new message and one that is not mail at all.
    md = tmp_path / "Maildir"
    (md / "cur").mkdir(parents=True)
    (md / "new").mkdir()
    (md / "new" / "1.eml").write_text(
        "From: Hans <hans@globex.example>\nSubject: Invoice\nMessage-ID: <md1@globex.example>\n\nHi\n")
    (md / "cur" / "2.eml").write_text("")
    p = run("import", "maildir", "--org", org["id"], str(md), db=db, check=False)
    out = json.loads(p.stdout)
    assert out["messages"] == 1
    assert len(out["errors"]) == 1 and out["errors"][0]["source"].endswith("2.eml")
    assert out["errors"][0]["reason"]
    assert p.returncode == 1
    missing = run("import", "mbox", "--org", org["id"], str(tmp_path / "nope.mbox"), db=db, check=False)
    assert json.loads(missing.stdout)["errors"][0]["reason"].startswith("not_found")
