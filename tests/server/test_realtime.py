"""/ws over real sockets with a real client (Python websockets, Debian's python3-websockets):
authentication, rooms and access, live events, resume without gaps or repeats, typing and
presence, slow-client cut-off, going-away on shutdown, and two servers on one PostgreSQL."""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import time
import uuid

import pytest
import websockets

from server_harness import Server, run_cli

API = "/api/v1"
THREADS = API + "/communications/threads"
JWT_SECRET = "realtime-test-secret-0123456789abcdef"


def jwt_for(user_id):
    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    now = int(time.time())
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": user_id, "iat": now, "exp": now + 3600}).encode())
    sig = hmac.new(JWT_SECRET.encode(), (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64(sig)


@pytest.fixture(scope="module")
def rt(database):
    """A server with JWTs enabled, a small per-client send queue and a short WebSocket idle
    timeout, so the slow-client and keep-alive cases run quickly."""
    s = Server(database["url"], database["workdir"],
               args=("--ws-max-queue", "64", "--ws-idle-timeout", "4"),
               env={"JWT_SECRET": JWT_SECRET})
    s.backend = database["backend"]
    admin = s.client()
    s.users = {}
    for name in ("ana", "ben", "viv"):
        role = "viewer" if name == "viv" else "agent"
        u = admin.post(API + "/users", body={"email": "%s-%s@example.test" % (name, uuid.uuid4().hex[:6]),
                                             "name": name, "role": role}).data
        s.users[name] = u["id"]
    admin.close()
    yield s
    code = s.stop()
    assert code == 0, s.stderr_text()[-2000:]


def ws_url(s):
    return "ws://%s:%d/ws" % (s.host, s.port)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def connect(s, token=None, **kw):
    headers = {"Authorization": "Bearer " + token} if token else None
    ws = await websockets.connect(ws_url(s), extra_headers=headers, max_size=2 ** 20, **kw)
    return ws


async def recv_json(ws, timeout=10):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws, pred, timeout=10):
    """Frames up to and including the first that satisfies pred."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out; got %r" % got[-5:])
        m = await recv_json(ws, left)
        got.append(m)
        if pred(m):
            return got


async def subscribe(ws, room, after=None):
    msg = {"type": "subscribe", "room": room}
    if after is not None:
        msg["after"] = after
    await ws.send(json.dumps(msg))
    frames = await recv_until(ws, lambda m: m.get("type") in ("subscribed", "error"))
    return frames


async def welcome(ws):
    m = await recv_json(ws)
    assert m["type"] == "welcome", m
    return m


def create_thread(client, subject="live"):
    r = client.post(THREADS, body={"subject": subject})
    assert r.status == 201, r
    return r.data


def add_note(client, thread_id, body="note"):
    r = client.post(THREADS + "/" + thread_id + "/notes", body={"text": body})
    assert r.status == 201, r
    return r.data


# --- authentication --------------------------------------------------------------------------

def test_auth_by_header_subprotocol_and_first_message(rt):
    async def go():
        ws = await connect(rt, rt.key)
        w = await welcome(ws)
        assert w["role"] == "admin" and w["user_id"] is None
        await ws.close()

        ws = await websockets.connect(ws_url(rt), subprotocols=["banxway", "bearer." + rt.key])
        assert ws.subprotocol == "banxway"
        await welcome(ws)
        await ws.close()

        ws = await websockets.connect(ws_url(rt))
        await ws.send(json.dumps({"type": "auth", "token": jwt_for(rt.users["ana"])}))
        w = await welcome(ws)
        assert w["user_id"] == rt.users["ana"] and w["role"] == "agent"
        await ws.close()
    run(go())


def test_bad_credentials_are_refused(rt):
    async def go():
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as e:
            await connect(rt, "bxk_not_a_real_key")
        assert e.value.status_code == 401

        ws = await websockets.connect(ws_url(rt))
        await ws.send(json.dumps({"type": "subscribe", "room": "org"}))
        with pytest.raises(websockets.exceptions.ConnectionClosed) as c:
            await recv_json(ws)
        assert c.value.code == 4001

        ws = await websockets.connect(ws_url(rt))
        await ws.send(json.dumps({"type": "auth", "token": "bxk_wrong"}))
        with pytest.raises(websockets.exceptions.ConnectionClosed) as c:
            await recv_json(ws)
        assert c.value.code == 4001
    run(go())
    # The credential never reaches the log.
    assert rt.key not in rt.stderr_text()


# --- rooms and events ------------------------------------------------------------------------

def test_org_and_thread_rooms_receive_their_events(rt):
    api = rt.client()

    async def go():
        ws = await connect(rt, rt.key)
        await welcome(ws)
        frames = await subscribe(ws, "org")
        assert frames[-1]["type"] == "subscribed" and frames[-1]["room"] == "org"
        t = create_thread(api, "rooms")
        got = await recv_until(ws, lambda m: m.get("type") == "thread.created")
        ev = got[-1]
        assert ev["room"] == "org" and ev["thread_id"] == t["id"] and isinstance(ev["id"], int)
        assert "data" in ev

        frames = await subscribe(ws, "thread:" + t["id"])
        assert frames[-1]["type"] == "subscribed", frames
        add_note(api, t["id"], "hello room")
        got = await recv_until(ws, lambda m: m.get("room") == "thread:" + t["id"]
                               and m.get("type") == "note.created", timeout=10)
        ids = [m["id"] for m in got if m.get("type") == "note.created"]
        assert ids, got

        other = create_thread(api, "not this room")
        got = await recv_until(ws, lambda m: m.get("type") == "thread.created"
                               and m.get("thread_id") == other["id"])
        assert all(m.get("room") != "thread:" + t["id"] or m.get("thread_id") == t["id"]
                   for m in got)

        await ws.send(json.dumps({"type": "unsubscribe", "room": "thread:" + t["id"]}))
        got = await recv_until(ws, lambda m: m.get("type") == "unsubscribed")
        await ws.close()
    run(go())
    api.close()


def test_room_errors_and_cross_org_denial(rt):
    api = rt.client()
    mine = create_thread(api, "org A secret")
    org = run_cli(rt.db_url, "org", "create", "Other org " + uuid.uuid4().hex[:6])
    key_b = run_cli(rt.db_url, "apikey", "create", "--org", org["id"], "--role", "admin")["key"]

    async def go():
        ws = await connect(rt, key_b)
        await welcome(ws)
        err = (await subscribe(ws, "thread:" + mine["id"]))[-1]
        assert err["type"] == "error" and err["code"] == "not_found", err
        err = (await subscribe(ws, "user:" + rt.users["ana"]))[-1]
        assert err["type"] == "error" and err["code"] == "not_found", err
        for bad in ("everything", "thread:123", "user:", "org:x"):
            err = (await subscribe(ws, bad))[-1]
            assert err["type"] == "error" and err["code"] == "invalid_argument", (bad, err)
        await ws.send("not json")
        assert (await recv_json(ws))["code"] == "invalid_argument"
        await ws.send(json.dumps({"type": "dance"}))
        m = await recv_json(ws)
        assert m["code"] == "invalid_argument" and "dance" in m["message"]
        # The other organization's events do not reach org B's org room.
        await subscribe(ws, "org")
        create_thread(api, "org A only")
        ws2 = await connect(rt, key_b)
        await welcome(ws2)
        await ws2.close()
        with pytest.raises(asyncio.TimeoutError):
            while True:
                m = await recv_json(ws, 1.5)
                assert not m.get("type", "").startswith("thread."), m
        await ws.close()

        viewer = await connect(rt, jwt_for(rt.users["viv"]))
        await welcome(viewer)
        err = (await subscribe(viewer, "user:" + rt.users["ana"]))[-1]
        assert err["code"] == "permission_denied", err
        ok = (await subscribe(viewer, "user:" + rt.users["viv"]))[-1]
        assert ok["type"] == "subscribed"
        await viewer.close()
    run(go())
    api.close()


def test_user_room_gets_assignments(rt):
    api = rt.client()
    t = create_thread(api, "assign me")

    async def go():
        ws = await connect(rt, jwt_for(rt.users["ben"]))
        await welcome(ws)
        await subscribe(ws, "user:" + rt.users["ben"])
        r = api.patch(THREADS + "/" + t["id"], body={"assignee_id": rt.users["ben"]})
        assert r.status == 200, r
        got = await recv_until(ws, lambda m: m.get("room") == "user:" + rt.users["ben"])
        assert got[-1]["thread_id"] == t["id"]
        await ws.close()
    run(go())
    api.close()


# --- resume ----------------------------------------------------------------------------------

def test_resume_delivers_everything_missed_once_in_order(rt):
    api = rt.client()
    t = create_thread(api, "resume")

    async def go():
        ws = await connect(rt, rt.key)
        await welcome(ws)
        await subscribe(ws, "org")
        add_note(api, t["id"], "before the drop")
        got = await recv_until(ws, lambda m: m.get("type") == "note.created")
        last = got[-1]["id"]
        await ws.close()

        # While disconnected: more events, some in another thread.
        for i in range(12):
            add_note(api, t["id"], "missed %d" % i)
        other = create_thread(api, "also missed")
        missed = api.get(API + "/events", params={"after": last, "limit": 200}).data
        want = [e["id"] for e in missed]
        assert len(want) >= 13

        ws = await connect(rt, rt.key)
        await welcome(ws)
        await ws.send(json.dumps({"type": "subscribe", "room": "org", "after": last}))
        frames = await recv_until(ws, lambda m: m.get("type") == "subscribed")
        replayed = [m["id"] for m in frames if "id" in m and m.get("room") == "org"]
        assert replayed == want[:len(replayed)]
        assert frames[-1]["replayed"] == len(replayed)
        # Then live, continuing after the replay, with no repeats.
        add_note(api, other["id"], "live after resume")
        got = await recv_until(ws, lambda m: m.get("type") == "note.created"
                               and m.get("thread_id") == other["id"])
        live = [m["id"] for m in got if "id" in m]
        seen = replayed + live
        assert seen == sorted(seen) and len(seen) == len(set(seen))
        assert set(want) <= set(seen)

        # A thread room resumes only that thread's events.
        await ws.send(json.dumps({"type": "subscribe", "room": "thread:" + t["id"],
                                  "after": last}))
        frames = await recv_until(ws, lambda m: m.get("type") == "subscribed"
                                  and m.get("room") == "thread:" + t["id"])
        ids = [m for m in frames if m.get("room") == "thread:" + t["id"] and "id" in m]
        assert ids and all(m["thread_id"] == t["id"] for m in ids)
        assert len([m for m in ids if m["type"] == "note.created"]) == 12
        await ws.close()
    run(go())
    api.close()


# --- typing and presence ---------------------------------------------------------------------

def test_typing_presence_and_viewers(rt):
    api = rt.client()
    t = create_thread(api, "typing")
    ana, ben = rt.users["ana"], rt.users["ben"]

    async def go():
        wa = await connect(rt, jwt_for(ana))
        await welcome(wa)
        frames = await subscribe(wa, "org")
        state = [m for m in frames if m.get("type") == "presence_state"][0]
        assert {"user_id": ana, "status": "online"} in state["users"]

        wb = await connect(rt, jwt_for(ben))
        await welcome(wb)
        await recv_until(wa, lambda m: m.get("type") == "presence" and m["user_id"] == ben
                         and m["status"] == "online")
        await subscribe(wa, "thread:" + t["id"])
        await subscribe(wb, "thread:" + t["id"])
        got = await recv_until(wa, lambda m: m.get("type") == "viewers"
                               and set(m["user_ids"]) == {ana, ben})

        # Typing needs the thread room; then reaches the other viewer, not the typist.
        await wb.send(json.dumps({"type": "typing", "thread_id": str(uuid.uuid4())}))
        assert (await recv_json(wb))["code"] == "invalid_argument"
        await wb.send(json.dumps({"type": "typing", "thread_id": t["id"], "state": "start"}))
        got = await recv_until(wa, lambda m: m.get("type") == "typing")
        assert got[-1]["user_id"] == ben and got[-1]["state"] == "start"

        # Away, then the connection drops: typing stops, viewers shrink, ben goes offline.
        await wb.send(json.dumps({"type": "presence", "status": "away"}))
        await recv_until(wa, lambda m: m.get("type") == "presence" and m["user_id"] == ben
                         and m["status"] == "away")
        await wb.close()
        got = await recv_until(wa, lambda m: m.get("type") == "presence" and m["user_id"] == ben
                               and m["status"] == "offline")
        types = [m.get("type") for m in got]
        assert "typing" in types and "viewers" in types
        stop = [m for m in got if m.get("type") == "typing"][-1]
        assert stop["state"] == "stop" and stop["user_id"] == ben
        await wa.close()

        # Typing that is not renewed expires on its own (6 s).
        wa = await connect(rt, jwt_for(ana))
        await welcome(wa)
        wb = await connect(rt, jwt_for(ben))
        await welcome(wb)
        await subscribe(wa, "thread:" + t["id"])
        await subscribe(wb, "thread:" + t["id"])
        await wb.send(json.dumps({"type": "typing", "thread_id": t["id"]}))
        await recv_until(wa, lambda m: m.get("type") == "typing" and m["state"] == "start")
        t0 = time.monotonic()
        await recv_until(wa, lambda m: m.get("type") == "typing" and m["state"] == "stop",
                         timeout=12)
        assert time.monotonic() - t0 > 3
        await wa.close()
        await wb.close()
    run(go())
    api.close()


# --- flow control, keep-alive, shutdown ------------------------------------------------------

def _raw_ws_connect(host, port, key, rcvbuf=4096):
    """A WebSocket client that does the handshake and then reads only when told to."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect((host, port))
    nonce = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Authorization: Bearer %s\r\n\r\n" % (host, port, nonce, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def _send_frame(s, text):
    data = text.encode()
    mask = os.urandom(4)
    hdr = bytes([0x81])
    n = len(data)
    hdr += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n)
    s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def _split_frames(buf):
    """Whole server frames at the front of buf: ([(fin, opcode, payload)], the rest)."""
    frames = []
    while len(buf) >= 2:
        fin, op, n = buf[0] >> 7, buf[0] & 0x0F, buf[1] & 0x7F
        off = 2
        if n == 126:
            if len(buf) < 4:
                break
            n, off = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, off = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < off + n:
            break
        frames.append((fin, op, buf[off:off + n]))
        buf = buf[off + n:]
    return frames, buf


def _read_frames(s, timeout):
    """Reads server frames until the connection ends; returns (texts, close_code)."""
    s.settimeout(timeout)
    buf = b""
    texts, code = [], None
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            frames, buf = _split_frames(buf + chunk)
            for _, op, payload in frames:
                if op == 1:
                    texts.append(payload.decode())
                elif op == 8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    return texts, code
    except (socket.timeout, ConnectionResetError):
        pass
    return texts, code


def test_slow_client_is_cut_off_with_a_close_code(rt):
    api = rt.client()
    t = create_thread(api, "flood")
    s = _raw_ws_connect(rt.host, rt.port, rt.key)
    _send_frame(s, json.dumps({"type": "subscribe", "room": "org"}))
    # The client reads nothing while events pile up: the socket buffers fill, then the
    # server's queue (64 frames here) does, and the server gives up on this client. Large
    # notes, so a few hundred fill the kernel's buffers even when the machine is busy.
    body = "x" * 30000
    deadline = time.monotonic() + 60
    while "closing slow client" not in rt.stderr_text():
        assert time.monotonic() < deadline, "server never cut the slow client off"
        for _ in range(20):
            add_note(api, t["id"], body)
    texts, code = _read_frames(s, 10)
    s.close()
    assert code == 4008, (code, len(texts))
    # The server's memory stayed bounded and it still serves everyone else.
    assert api.get(THREADS).status == 200
    api.close()


def test_bursts_of_events_arrive_as_whole_frames_in_order(rt):
    # The server gathers the frames queued for a connection into one write (ws_session.cpp):
    # every event must still be its own final text frame (no continuation frames, even past
    # 4 KB), complete and in the order the events were written, small and large interleaved.
    import threading
    api = rt.client()
    t = create_thread(api, "burst")
    s = _raw_ws_connect(rt.host, rt.port, rt.key, rcvbuf=1 << 22)
    _send_frame(s, json.dumps({"type": "subscribe", "room": "thread:" + t["id"]}))
    frames = []  # (fin, opcode, payload)
    done = threading.Event()

    def reader():
        s.settimeout(20)
        buf, notes = b"", 0
        try:
            while not done.is_set() and notes < 24:
                chunk = s.recv(1 << 20)
                if not chunk:
                    return
                got, buf = _split_frames(buf + chunk)
                frames.extend(got)
                notes += sum(1 for f in got if b'"note.created"' in f[2])
        except socket.timeout:
            pass

    th = threading.Thread(target=reader)
    th.start()
    deadline = time.monotonic() + 10
    while not any(b'"subscribed"' in f[2] for f in frames):
        assert time.monotonic() < deadline, frames
        time.sleep(0.01)
    sizes = [10, 5000, 3, 65000, 4096, 126, 30000, 60000] * 3
    bodies = ["%02d:" % i + chr(ord("a") + i) * n for i, n in enumerate(sizes)]
    for b in bodies:
        add_note(api, t["id"], b)
    th.join(30)
    done.set()
    s.close()
    api.close()
    assert all(fin == 1 and op == 1 for fin, op, _ in frames), [(f, o) for f, o, _ in frames]
    notes = [json.loads(p)["data"] for _, _, p in frames if b'"note.created"' in p]
    got = [n.get("text") or n.get("note", {}).get("text") for n in notes]
    assert got == bodies, [(g or "")[:8] for g in got]


def test_idle_connection_is_kept_alive_by_pings(rt):
    async def go():
        # websockets answers the server's pings; the connection outlives the 4 s idle timeout.
        ws = await connect(rt, rt.key, ping_interval=None)
        await welcome(ws)
        await asyncio.sleep(6)
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv_json(ws))["type"] == "pong"
        await ws.close()
    run(go())


def test_dead_client_is_dropped_after_idle_timeout(rt):
    s = _raw_ws_connect(rt.host, rt.port, rt.key)
    # This client never answers pings: after the idle timeout (4 s) the server hangs up.
    t0 = time.monotonic()
    texts, code = _read_frames(s, 15)
    s.close()
    elapsed = time.monotonic() - t0
    assert elapsed < 12, elapsed
    assert texts and json.loads(texts[0])["type"] == "welcome"


def test_shutdown_sends_going_away(database, tmp_path):
    if database["backend"] != "sqlite":
        pytest.skip("one backend is enough for the shutdown path")
    s = Server("sqlite://" + str(tmp_path / "bx.db"), str(tmp_path))

    async def go():
        ws = await connect(s, s.key)
        await welcome(ws)
        await subscribe(ws, "org")
        t0 = time.monotonic()
        s.proc.send_signal(15)
        with pytest.raises(websockets.exceptions.ConnectionClosed) as c:
            while True:
                await recv_json(ws, 10)
        assert c.value.code == 1001
        return time.monotonic() - t0
    took = run(go())
    assert s.proc.wait(timeout=15) == 0
    assert took < 10


# --- two servers, one PostgreSQL -------------------------------------------------------------

def test_two_servers_share_events_and_presence(rt, database):
    if database["backend"] != "postgres":
        pytest.skip("several server processes share a database only on PostgreSQL")
    other = Server(database["url"], database["workdir"], env={"JWT_SECRET": JWT_SECRET})
    api_other = other.client(key=rt.key)
    ana, ben = rt.users["ana"], rt.users["ben"]

    async def go():
        wa = await connect(rt, jwt_for(ana))       # on server 1
        await welcome(wa)
        await subscribe(wa, "org")
        wb = await connect(other, jwt_for(ben))    # on server 2
        await welcome(wb)
        await recv_until(wa, lambda m: m.get("type") == "presence" and m["user_id"] == ben
                         and m["status"] == "online")
        # An event written through server 2 reaches the client of server 1.
        t = create_thread(api_other, "across servers")
        await recv_until(wa, lambda m: m.get("type") == "thread.created"
                         and m["thread_id"] == t["id"])
        # Typing and viewers travel too.
        await subscribe(wa, "thread:" + t["id"])
        await subscribe(wb, "thread:" + t["id"])
        await recv_until(wa, lambda m: m.get("type") == "viewers" and set(m["user_ids"]) == {ana, ben})
        await wb.send(json.dumps({"type": "typing", "thread_id": t["id"]}))
        await recv_until(wa, lambda m: m.get("type") == "typing" and m["user_id"] == ben)
        await wb.close()
        await recv_until(wa, lambda m: m.get("type") == "presence" and m["user_id"] == ben
                         and m["status"] == "offline")
        await wa.close()
    try:
        run(go())
    finally:
        api_other.close()
        assert other.stop() == 0


# --- protocol basics -------------------------------------------------------------------------

def test_protocol_basics(rt):
    """Ping/pong, fragmented messages, binary and oversized frames, invalid UTF-8, close."""
    async def go():
        ws = await connect(rt, rt.key)
        await welcome(ws)
        # A client ping is answered with a pong (websockets resolves the waiter on it).
        pong = await ws.ping(b"are-you-there")
        await asyncio.wait_for(pong, 5)
        # A message sent in fragments is reassembled.
        await ws.send(iter(['{"type":', '"subscribe",', '"room":"org"}']))
        got = await recv_until(ws, lambda m: m.get("type") == "subscribed")
        assert got[-1]["room"] == "org"
        # Binary frames are not JSON messages: an error, the connection stays.
        await ws.send(b'{"type":"ping"}')
        m = await recv_json(ws)
        assert m["type"] == "error" and m["code"] == "invalid_argument"
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv_json(ws))["type"] == "pong"
        # A well-formed message over the 4 KiB application limit: an error, still open.
        await ws.send(json.dumps({"type": "ping", "pad": "x" * 5000}))
        m = await recv_json(ws)
        assert m["code"] == "payload_too_large"
        # A frame over the 64 KiB transport limit closes with 1009.
        await ws.send("x" * (70 * 1024))
        with pytest.raises(websockets.exceptions.ConnectionClosed) as c:
            await recv_json(ws)
        assert c.value.code == 1009

        # Text that is not UTF-8 is a protocol error (1007), sent raw around the library.
        s = _raw_ws_connect(rt.host, rt.port, rt.key)
        mask = b"\x01\x02\x03\x04"
        payload = b"\xff\xfe\xfd"
        s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask +
                  bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
        texts, code = _read_frames(s, 10)
        s.close()
        assert code == 1007, (code, texts)

        # A clean close from the client is answered.
        ws = await connect(rt, rt.key)
        await welcome(ws)
        await ws.close(1000, "bye")
        assert ws.close_code == 1000
    run(go())


def test_revoked_key_or_deactivated_user_is_disconnected(rt):
    admin = rt.client()
    created = admin.post(API + "/apikeys", body={"role": "agent"})
    assert created.status == 201, created
    key, key_id = created.data["key"], created.data["id"]
    user = admin.post(API + "/users", body={"email": "gone-%s@example.test" % uuid.uuid4().hex[:6],
                                            "role": "agent"}).data

    async def go():
        ws = await connect(rt, key)
        await welcome(ws)
        await subscribe(ws, "org")
        r = admin.delete(API + "/apikeys/" + key_id)
        assert r.status == 200, r
        with pytest.raises(websockets.exceptions.ConnectionClosed) as c:
            while True:
                await recv_json(ws, 10)
        assert c.value.code == 4003

        wu = await connect(rt, jwt_for(user["id"]))
        await welcome(wu)
        await subscribe(wu, "org")
        r = admin.post(API + "/users/" + user["id"] + "/deactivate")
        assert r.status == 200, r
        with pytest.raises(websockets.exceptions.ConnectionClosed) as c:
            while True:
                await recv_json(wu, 10)
        assert c.value.code == 4003
        # And it cannot come back.
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as e:
            await connect(rt, jwt_for(user["id"]))
        assert e.value.status_code == 401
    run(go())
    admin.close()
