"""Shipment documents over HTTP (docs/SHIPMENTS.md "Documents"): raw and multipart uploads,
listing, downloads with the right headers, refusals, deletion and tenant isolation. Runs on
every backend."""

import urllib.parse
import uuid

from server_harness import run_cli

PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n"
       b"<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89")


def executable_bytes():
    import sys
    with open(sys.executable, "rb") as f:
        return f.read(64 * 1024)


def new_shipment(api):
    r = api.post("/api/v1/shipments", body={"mode": "ocean"})
    assert r.status == 201, r
    return r.data["id"]


def upload_raw(api, shipment, data, content_type, params=None, headers=None):
    h = {"Content-Type": content_type}
    h.update(headers or {})
    return api.request("POST", "/api/v1/shipments/%s/documents" % shipment, body=data,
                       headers=h, params=params)


def multipart(fields, file_name, file_type, file_data, boundary="bXbOuNdArY42"):
    parts = []
    for k, v in fields.items():
        parts.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                      % (boundary, k, v)).encode())
    parts.append(("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                  "Content-Type: %s\r\n\r\n" % (boundary, file_name, file_type)).encode()
                 + file_data + b"\r\n")
    parts.append(("--%s--\r\n" % boundary).encode())
    return b"".join(parts), "multipart/form-data; boundary=" + boundary


def test_raw_upload_list_download_delete(api):
    s = new_shipment(api)
    r = upload_raw(api, s, PDF, "application/pdf",
                   params={"filename": "../B-L 4711 Übersee.pdf", "kind": "bill_of_lading"})
    assert r.status == 201, r
    doc = r.data
    assert doc["shipment_id"] == s and doc["kind"] == "bill_of_lading"
    assert doc["filename"] == "B-L 4711 Übersee.pdf"
    assert doc["content_type"] == "application/pdf" and doc["size"] == len(PDF)
    assert len(doc["sha256"]) == 64

    listed = api.get("/api/v1/shipments/%s/documents" % s)
    assert listed.status == 200
    assert [d["id"] for d in listed.data] == [doc["id"]]
    assert listed.json["pagination"]["next_cursor"] is None

    dl = api.get("/api/v1/documents/%s/download" % doc["id"])
    assert dl.status == 200
    assert dl.header("Content-Type") == "application/pdf"
    assert dl.header("X-Content-Type-Options") == "nosniff"
    cd = dl.header("Content-Disposition")
    assert cd.startswith("attachment; "), cd
    assert "filename*=UTF-8''" + urllib.parse.quote("B-L 4711 Übersee.pdf", safe="") in cd, cd
    assert 'filename="B-L 4711 __bersee.pdf"' in cd, cd  # ASCII fallback, 2 bytes of Ü replaced
    assert dl.raw == PDF.decode("ascii")

    r = api.delete("/api/v1/documents/%s" % doc["id"])
    assert r.status == 200, r
    assert r.data["deleted_at"]
    assert api.get("/api/v1/documents/%s/download" % doc["id"]).status == 404
    assert api.get("/api/v1/shipments/%s/documents" % s).data == []
    assert api.delete("/api/v1/documents/%s" % doc["id"]).status == 404

    events = api.get("/api/v1/events", params={"after": 0, "limit": 200}).data
    types = [e["type"] for e in events if e.get("subject_id") == s]
    assert "shipment.document_added" in types and "shipment.document_removed" in types, types


def test_download_bytes_are_exact(server, api):
    # http.client in the harness decodes text; fetch the binary PNG with a raw socket.
    import http.client
    s = new_shipment(api)
    r = upload_raw(api, s, PNG, "image/png", params={"filename": "stamp.png"})
    assert r.status == 201, r
    c = http.client.HTTPConnection(server.host, server.port, timeout=10)
    c.request("GET", "/api/v1/documents/%s/download" % r.data["id"],
              headers={"Authorization": "Bearer " + server.key})
    resp = c.getresponse()
    body = resp.read()
    c.close()
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "image/png"
    assert body == PNG


def test_multipart_and_content_disposition_uploads(api):
    s = new_shipment(api)
    body, ct = multipart({"kind": "packing_list"}, "pack list.png", "image/png", PNG)
    r = api.request("POST", "/api/v1/shipments/%s/documents" % s, body=body,
                    headers={"Content-Type": ct})
    assert r.status == 201, r
    assert r.data["kind"] == "packing_list"
    assert r.data["filename"] == "pack list.png"
    assert r.data["content_type"] == "image/png"

    # A raw upload naming its file in Content-Disposition (RFC 8187 form wins over the plain).
    r = upload_raw(api, s, b"ref;amount\nA1;10\n", "text/csv",
                   headers={"Content-Disposition":
                            "attachment; filename=\"fallback.csv\"; "
                            "filename*=UTF-8''Rechnung%20%E2%82%AC.csv"})
    assert r.status == 201, r
    assert r.data["filename"] == "Rechnung €.csv"
    assert r.data["kind"] == "other"

    names = sorted(d["filename"] for d in api.get("/api/v1/shipments/%s/documents" % s).data)
    assert names == ["Rechnung €.csv", "pack list.png"]
    only = api.get("/api/v1/shipments/%s/documents" % s, params={"kind": "packing_list"}).data
    assert [d["filename"] for d in only] == ["pack list.png"]

    # Two files in one form, and a form without a file, are refused.
    two, ct2 = multipart({}, "a.png", "image/png", PNG)
    two = two.replace(b"--bXbOuNdArY42--\r\n", b"") + multipart({}, "b.png", "image/png", PNG)[0]
    r = api.request("POST", "/api/v1/shipments/%s/documents" % s, body=two,
                    headers={"Content-Type": ct2})
    assert r.status == 400 and "more than one file" in r.json["error"]["message"], r
    none = b"--xx\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ninvoice\r\n--xx--\r\n"
    r = api.request("POST", "/api/v1/shipments/%s/documents" % s, body=none,
                    headers={"Content-Type": "multipart/form-data; boundary=xx"})
    assert r.status == 400 and "no file part" in r.json["error"]["message"], r


def test_refusals(api):
    s = new_shipment(api)
    r = upload_raw(api, s, executable_bytes(), "application/pdf", params={"filename": "inv.pdf"})
    assert r.status == 400 and r.error_code == "invalid_argument", r
    assert "executable" in r.json["error"]["message"]
    r = upload_raw(api, s, PNG, "application/pdf")
    assert r.status == 400 and "image/png" in r.json["error"]["message"], r
    r = upload_raw(api, s, b"<html><script>x</script></html>", "text/html")
    assert r.status == 400 and "not accepted" in r.json["error"]["message"], r
    r = upload_raw(api, s, PDF, "application/pdf", params={"kind": "passport"})
    assert r.status == 400, r
    r = upload_raw(api, s, PDF, "application/pdf", params={"colour": "red"})
    assert r.status == 400 and r.json["error"]["details"] == {"param": "colour"}, r
    r = upload_raw(api, s, b"", "text/plain")
    assert r.status == 400, r
    missing = "0190a0a0-0000-7000-8000-000000000999"
    assert upload_raw(api, missing, PDF, "application/pdf").status == 404
    assert api.get("/api/v1/documents/%s/download" % missing).status == 404
    assert api.get("/api/v1/documents/not-a-uuid/download").status == 400
    # No credential: 401 before anything is read into the engine.
    r = api.request("POST", "/api/v1/shipments/%s/documents" % s, body=PDF,
                    headers={"Content-Type": "application/pdf"}, auth=False)
    assert r.status == 401, r
    assert api.get("/api/v1/shipments/%s/documents" % s).data == []


def test_other_organization_cannot_reach_documents(server, api):
    s = new_shipment(api)
    doc = upload_raw(api, s, PDF, "application/pdf", params={"filename": "a.pdf"}).data
    org = run_cli(server.db_url, "org", "create", "Docs org " + uuid.uuid4().hex[:6])
    key = run_cli(server.db_url, "apikey", "create", "--org", org["id"], "--role", "admin")["key"]
    b = server.client(key=key)
    try:
        assert b.get("/api/v1/documents/%s/download" % doc["id"]).status == 404
        assert b.delete("/api/v1/documents/%s" % doc["id"]).status == 404
        assert b.get("/api/v1/shipments/%s/documents" % s).status == 404
        r = upload_raw(b, s, PDF, "application/pdf")
        assert r.status == 404, r
    finally:
        b.close()
    # Still there for A.
    assert api.get("/api/v1/documents/%s/download" % doc["id"]).status == 200
    assert len(api.get("/api/v1/shipments/%s/documents" % s).data) == 1
