"""The GIL is released during library calls, and one engine serves several Python threads."""

import sqlite3
import threading
import time

import banxway


def test_gil_released_while_call_blocks(tmp_path):
    """A worker's call blocks inside the library on a SQLite write lock held by this thread.

    The main thread then runs Python bytecode and releases the lock. If the binding kept the
    GIL during the call, the main thread could not run until the call gave up (busy timeout),
    so the worker would fail and the checks below would see it finished early."""
    path = tmp_path / "gil.db"
    with banxway.Engine(f"sqlite://{path}") as e:
        e.bootstrap("GIL", use=True)
        e.call("threads.create", subject="warm-up")

        blocker = sqlite3.connect(str(path), isolation_level=None, timeout=0,
                                  check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")  # take the database's write lock
        entered = threading.Event()
        result = {}

        def worker():
            entered.set()
            try:
                result["thread"] = e.call("threads.create", subject="written after unlock")
            except Exception as exc:  # reported through the assertions below
                result["error"] = exc

        th = threading.Thread(target=worker)
        th.start()
        try:
            assert entered.wait(5)
            time.sleep(0.3)  # the worker is now inside the library, waiting for the lock
            spins = 0
            deadline = time.monotonic() + 0.3
            while time.monotonic() < deadline:  # pure-Python work during the call
                spins += 1
            assert spins > 1000
            assert th.is_alive(), f"call finished while the lock was held: {result}"
            assert result == {}
        finally:
            blocker.execute("COMMIT")
            blocker.close()
            th.join(20)
        assert not th.is_alive()
        assert "error" not in result, result.get("error")
        assert result["thread"]["subject"] == "written after unlock"


def test_engine_shared_by_threads(engine):
    errors = []
    per_thread = 15

    def work(n):
        try:
            for i in range(per_thread):
                t = engine.call("threads.create", subject=f"worker {n} #{i}")
                engine.call("messages.create_note", thread_id=t["id"], text="x")
                engine.call("threads.get", id=t["id"])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    subjects = [t["subject"] for t in engine.paginate("threads.list", limit=50)]
    assert len(subjects) == 4 * per_thread == len(set(subjects))


def test_close_while_other_thread_calls(tmp_path):
    """close() from one thread must not destroy the engine under a running call."""
    e = banxway.Engine(f"sqlite://{tmp_path}/close.db")
    e.bootstrap("Close race", use=True)
    outcome = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                e.call("threads.create", subject="x")
            except banxway.Unavailable:
                outcome.append("closed")
                return
            except Exception as exc:
                outcome.append(exc)
                return

    th = threading.Thread(target=hammer)
    th.start()
    time.sleep(0.2)
    e.close()
    th.join(10)
    stop.set()
    assert outcome == ["closed"]
