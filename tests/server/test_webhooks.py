"""Provider webhooks over real HTTP: no API key, the URL token (Exotel) or signature (Meta)
authenticates; accepted ones are processed by the server's job workers; the access log never
shows the token."""

import hashlib
import hmac
import json
import time
import uuid

API = "/api/v1"


def _inbound(sid, text):
    return {"whatsapp": {"messages": [{
        "callback_type": "incoming_message", "sid": sid, "from": "+919820012345",
        "to": "+919000000001", "profile_name": "Ravi",
        "timestamp": "2026-11-27T10:00:00+05:30",
        "content": {"type": "text", "text": {"body": text}}}]}}


def test_exotel_webhook_token_route(api, server):
    r = api.post(API + "/channels", body={
        "channel": "whatsapp", "provider": "exotel", "name": "wa-" + uuid.uuid4().hex[:6],
        "config": {"account_sid": "acme1", "from": "+919000000001"},
        "secrets": {"api_key": "k", "api_token": "t"}})
    assert r.status == 201, r
    token = r.data["webhook_token"]
    path = r.data["webhook_paths"]["whatsapp"]
    assert path == API + "/webhooks/exotel/whatsapp/" + token

    text = "zebrawhale " + uuid.uuid4().hex[:8]
    r = api.post(path, body=_inbound("sid-" + uuid.uuid4().hex, text), auth=False)
    assert r.status == 200, r
    assert r.json["data"]["accepted"] == 1

    # Wrong token: 401 in the usual envelope, nothing stored.
    r = api.post(path[:-3] + "xyz", body=_inbound("sid-x", "forged"), auth=False)
    assert r.status == 401, r
    assert r.json["success"] is False and r.json["error"]["code"] == "unauthenticated"

    # The job workers process it shortly after the acknowledgement.
    for _ in range(100):
        found = api.get(API + "/search", params={"q": text.split()[0]}).data
        if found:
            break
        time.sleep(0.1)
    assert found, "the inbound WhatsApp message was not processed"

    # The access log (flushed in the background) names the route without the secret.
    for _ in range(50):
        log = server.stderr_text()
        if API + "/webhooks/exotel/whatsapp/ 200" in log:
            break
        time.sleep(0.1)
    assert API + "/webhooks/exotel/whatsapp/ 200" in log, log[-2000:]
    assert token.split(".", 1)[1] not in log


def test_meta_handshake_and_signature(api):
    api.post(API + "/channels", body={
        "channel": "whatsapp", "provider": "meta", "name": "cloud-" + uuid.uuid4().hex[:6],
        "config": {"phone_number_id": "55501"},
        "secrets": {"access_token": "a", "app_secret": "s3cret", "verify_token": "vt"}})
    r = api.get(API + "/webhooks/meta/whatsapp", auth=False,
                params={"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "4242"})
    assert r.status == 200, r
    assert r.raw == "4242"
    assert r.header("Content-Type").startswith("text/plain")
    body = json.dumps({"object": "whatsapp_business_account", "entry": []})
    sig = "sha256=" + hmac.new(b"s3cret", body.encode(), hashlib.sha256).hexdigest()
    r = api.post(API + "/webhooks/meta/whatsapp", body=body, auth=False,
                 headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig})
    assert r.status == 200, r
    r = api.post(API + "/webhooks/meta/whatsapp", body=body + " ", auth=False,
                 headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig})
    assert r.status == 401, r
