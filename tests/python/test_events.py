"""engine.events(): the organization's event log as an iterator."""

import threading
import time

import pytest

import banxway


def _last_id(engine):
    last = 0
    for ev in engine.events():
        last = ev["id"]
    return last


def test_events_yield_created_events_in_order(engine):
    start = _last_id(engine)  # bootstrap may have logged events of its own
    t = engine.call("threads.create", subject="Booking 4411")
    note = engine.call("messages.create_note", thread_id=t["id"], text="ETA moved")
    cust = engine.call("customers.create", name="Evergreen")

    events = list(engine.events(after=start))
    ids = [ev["id"] for ev in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    mine = [(ev["type"], ev["subject_id"]) for ev in events]
    expected = [("thread.created", t["id"]), ("note.created", note["id"]),
                ("customer.created", cust["id"])]
    assert [m for m in mine if m in expected] == expected
    first = events[0]
    assert set(first) >= {"id", "type", "subject_type", "subject_id", "created_at"}
    assert first["type"] == "thread.created"
    assert first["thread_id"] == t["id"]


def test_events_batches_and_resume(engine):
    start = _last_id(engine)
    ids = [engine.call("threads.create", subject=f"t{i}")["id"] for i in range(5)]
    stream = engine.events(after=start, limit=2)  # forces three polls
    got = [ev["subject_id"] for ev in stream if ev["type"] == "thread.created"]
    assert got == ids
    # exhausted iterators stay exhausted
    assert list(stream) == []
    # the cursor resumes exactly after what was consumed
    resumed = engine.events(after=stream.cursor)
    assert list(resumed) == []
    extra = engine.call("threads.create", subject="late")
    assert [ev["subject_id"] for ev in engine.events(after=stream.cursor)
            if ev["type"] == "thread.created"] == [extra["id"]]


def test_events_follow_sees_new_events(engine):
    start = _last_id(engine)
    stream = engine.events(after=start, follow=True, interval=0.02)
    received = []

    def consume():
        for ev in stream:
            received.append(ev)
            if ev["type"] == "thread.created":
                break

    consumer = threading.Thread(target=consume)
    consumer.start()
    time.sleep(0.2)  # the consumer is now polling an empty log
    assert consumer.is_alive()
    t = engine.call("threads.create", subject="arrives while following")
    consumer.join(10)
    assert not consumer.is_alive(), "follow=True never delivered the new event"
    assert received[-1]["subject_id"] == t["id"]


def test_events_follow_close_from_another_thread(engine):
    stream = engine.events(after=_last_id(engine), follow=True, interval=5)
    done = threading.Event()

    def consume():
        for _ in stream:
            pass
        done.set()

    threading.Thread(target=consume, daemon=True).start()
    time.sleep(0.1)
    stream.close()  # wakes the 5 s sleep at once
    assert done.wait(2)


def test_events_argument_checks(engine):
    with pytest.raises(banxway.InvalidArgument):
        engine.events(after=-1)
    with pytest.raises(banxway.InvalidArgument):
        engine.events(limit=0)
    with pytest.raises(banxway.InvalidArgument):
        engine.events(limit=5000)


def test_events_of_org_view(engine, org):
    start = _last_id(engine)
    view = engine.as_org(org["id"])
    t = view.call("threads.create", subject="from view")
    types = [(ev["type"], ev["subject_id"]) for ev in view.events(after=start)]
    assert ("thread.created", t["id"]) in types
