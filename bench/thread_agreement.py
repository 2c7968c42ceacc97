#!/usr/bin/env python3
"""Threading quality against notmuch on the same mail.

Imports every message of the given mbox files into a fresh banxway SQLite database (through the
real CLI) and into a notmuch database, then compares the two groupings message by message:
  - threads: how many each makes;
  - identical: notmuch threads that banxway reproduces exactly (same set of messages);
  - pairs: of all message pairs notmuch puts together, the share banxway also puts together
    (recall), and of banxway's pairs, the share notmuch also has (precision).
Where banxway joins more than notmuch (subject fallback, Thread-Index), the extra joins are
listed with their subjects so a person can judge them.

  bench/thread_agreement.py [--cli build/examples/cli/banxway] MBOX...
"""
import argparse
import email
import email.policy
import itertools
import json
import mailbox
import os
import sqlite3
import subprocess
import sys
import tempfile


def norm_id(raw):
    raw = (raw or "").strip()
    if raw.startswith("<") and ">" in raw:
        raw = raw[1:raw.index(">")]
    if "@" in raw:
        local, _, domain = raw.rpartition("@")
        raw = local + "@" + domain.lower()
    return raw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="build/examples/cli/banxway")
    ap.add_argument("mbox", nargs="+")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bx-agree-")

    # banxway
    db = f"sqlite://{work}/bx.db"
    org = json.loads(subprocess.check_output([args.cli, "--db", db, "org", "create", "Agree"]))["id"]
    summary = json.loads(subprocess.run([args.cli, "--db", db, "import", "mbox", "--org", org, *args.mbox],
                                        capture_output=True, text=True).stdout)
    con = sqlite3.connect(f"{work}/bx.db")
    bx = {mid: tid for mid, tid in con.execute(
        "SELECT message_id, thread_id FROM messages WHERE message_id IS NOT NULL")}
    subjects = {mid: s for mid, s in con.execute("SELECT message_id, subject FROM messages")}

    # notmuch, over a maildir holding the same messages
    md = os.path.join(work, "mail")
    box = mailbox.Maildir(md, create=True)
    for path in args.mbox:
        for msg in mailbox.mbox(path):
            box.add(msg)
    cfg = os.path.join(work, "notmuch-config")
    with open(cfg, "w") as f:
        f.write(f"[database]\npath={md}\n[user]\nname=x\nprimary_email=x@example.invalid\n"
                "[new]\ntags=new\n[maildir]\nsynchronize_flags=false\n")
    env = dict(os.environ, NOTMUCH_CONFIG=cfg)
    subprocess.run(["notmuch", "new", "--quiet"], env=env, check=True)
    nm = {}
    threads = json.loads(subprocess.check_output(["notmuch", "search", "--format=json", "--output=threads", "*"], env=env))
    for t in threads:
        for mid in json.loads(subprocess.check_output(
                ["notmuch", "search", "--format=json", "--output=messages", f"thread:{t}"], env=env)):
            nm[norm_id(mid)] = t

    common = sorted(set(bx) & set(nm))
    def groups(assign):
        g = {}
        for m in common:
            g.setdefault(assign[m], set()).add(m)
        return g
    gb, gn = groups(bx), groups(nm)
    def pairs(g):
        return {frozenset(p) for s in g.values() for p in itertools.combinations(sorted(s), 2)}
    pb, pn = pairs(gb), pairs(gn)
    identical = sum(1 for s in gn.values() if s in [x for x in gb.values()])
    extra = pb - pn
    missing = pn - pb
    report = {
        "messages_read": summary.get("read"), "messages_stored": summary.get("messages"),
        "duplicates": summary.get("duplicates"), "compared_messages": len(common),
        "banxway_threads": len(gb), "notmuch_threads": len(gn),
        "notmuch_threads_reproduced_exactly": identical,
        "pair_recall": round(len(pn & pb) / len(pn), 4) if pn else 1.0,
        "pair_precision": round(len(pn & pb) / len(pb), 4) if pb else 1.0,
        "pairs_only_notmuch": len(missing), "pairs_only_banxway": len(extra),
    }
    print(json.dumps(report, indent=2))
    if extra or missing:
        print("\nJoined by banxway only (first 15):", file=sys.stderr)
        for p in list(extra)[:15]:
            a, b = sorted(p)
            print(f"  {subjects.get(a)!r} <-> {subjects.get(b)!r}", file=sys.stderr)
        print("Joined by notmuch only (first 15):", file=sys.stderr)
        for p in list(missing)[:15]:
            a, b = sorted(p)
            print(f"  {subjects.get(a)!r} <-> {subjects.get(b)!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
