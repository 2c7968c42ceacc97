"""GET /api/v1/openapi.json: fetched from a running server, checked for OpenAPI 3.1 structure
(a schema of the parts the document uses, written here), every embedded schema checked against
JSON Schema 2020-12, every $ref resolvable, and every route of the server's own route table
(`banxway-server --list-routes`) present with its methods."""

import json
import os
import re
import subprocess

import jsonschema
import pytest

from server_harness import Server, server_bin

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

# The OpenAPI 3.1 objects this server emits, as a JSON Schema (2020-12). Strict where the
# specification is (required fields, fixed field names, parameter locations), open elsewhere.
_REF = {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string"}}}
OAS_SUBSET = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["openapi", "info", "paths"],
    "properties": {
        "openapi": {"type": "string", "pattern": r"^3\.1\.\d+$"},
        "info": {"type": "object", "required": ["title", "version"],
                 "properties": {"title": {"type": "string"}, "version": {"type": "string"}}},
        "jsonSchemaDialect": {"type": "string"},
        "servers": {"type": "array", "items": {"type": "object", "required": ["url"]}},
        "security": {"$ref": "#/$defs/security"},
        "tags": {"type": "array", "items": {"type": "object", "required": ["name"]}},
        "paths": {"type": "object",
                  "propertyNames": {"pattern": "^/"},
                  "additionalProperties": {"$ref": "#/$defs/pathItem"}},
        "components": {
            "type": "object",
            "properties": {
                "schemas": {"type": "object"},
                "responses": {"type": "object",
                              "additionalProperties": {"$ref": "#/$defs/response"}},
                "securitySchemes": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object", "required": ["type"],
                        "properties": {"type": {"enum": ["apiKey", "http", "mutualTLS",
                                                         "oauth2", "openIdConnect"]}},
                        "if": {"properties": {"type": {"const": "apiKey"}}},
                        "then": {"required": ["name", "in"],
                                 "properties": {"in": {"enum": ["query", "header", "cookie"]}}},
                        "else": {"if": {"properties": {"type": {"const": "http"}}},
                                 "then": {"required": ["scheme"]}}}},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
    "$defs": {
        "security": {"type": "array",
                     "items": {"type": "object",
                               "additionalProperties": {"type": "array",
                                                        "items": {"type": "string"}}}},
        "pathItem": {
            "type": "object",
            "propertyNames": {"enum": sorted(HTTP_METHODS | {"summary", "description",
                                                             "parameters", "servers", "$ref"})},
            "additionalProperties": {"$ref": "#/$defs/operation"},
        },
        "operation": {
            "type": "object",
            "required": ["responses"],
            "properties": {
                "operationId": {"type": "string"},
                "summary": {"type": "string"},
                "description": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "parameters": {"type": "array", "items": {"$ref": "#/$defs/parameter"}},
                "requestBody": {"type": "object", "required": ["content"],
                                "properties": {"content": {"$ref": "#/$defs/content"},
                                               "required": {"type": "boolean"}}},
                "responses": {
                    "type": "object", "minProperties": 1,
                    "propertyNames": {"pattern": "^([1-5][0-9X]{2}|default)$"},
                    "additionalProperties": {"anyOf": [_REF, {"$ref": "#/$defs/response"}]}},
                "security": {"$ref": "#/$defs/security"},
            },
            "additionalProperties": False,
        },
        "parameter": {
            "type": "object",
            "required": ["name", "in"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "in": {"enum": ["query", "header", "path", "cookie"]},
                "required": {"type": "boolean"},
                "description": {"type": "string"},
                "schema": {"type": ["object", "boolean"]},
            },
            "oneOf": [{"required": ["schema"]}, {"required": ["content"]}],
            "if": {"properties": {"in": {"const": "path"}}},
            "then": {"required": ["required"], "properties": {"required": {"const": True}}},
        },
        "content": {"type": "object",
                    "propertyNames": {"pattern": r"^[a-z*]+/[a-z0-9.+*-]+$"},
                    "additionalProperties": {"type": "object",
                                             "properties": {"schema": {"type": ["object", "boolean"]}}}},
        "response": {
            "type": "object", "required": ["description"],
            "properties": {"description": {"type": "string"},
                           "content": {"$ref": "#/$defs/content"},
                           "headers": {"type": "object",
                                       "additionalProperties": {"type": "object",
                                                                "required": ["schema"]}}},
            "additionalProperties": False,
        },
    },
}


def list_routes():
    out = subprocess.run([server_bin(), "--list-routes"], capture_output=True, timeout=30,
                         check=True)
    routes = []
    for line in out.stdout.decode().splitlines():
        method, path = line.split(" ", 1)
        routes.append((method, path))
    assert len(routes) > 30, routes
    return routes


def oas_path(route_path):
    return re.sub(r"/:([A-Za-z_]+)", r"/{\1}", route_path)


@pytest.fixture(scope="module")
def spec_server(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("openapi"))
    s = Server("sqlite://" + os.path.join(d, "o.db"), d)
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def spec(spec_server):
    c = spec_server.client(key=None)
    r = c.get("/api/v1/openapi.json", auth=False)  # no credential needed
    c.close()
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("application/json")
    return r.json


def walk_schemas(spec):
    """Every JSON Schema embedded in the document, with where it sits."""
    found = []
    for name, s in spec["components"]["schemas"].items():
        found.append(("components.schemas." + name, s))
    for path, item in spec["paths"].items():
        for method, op in item.items():
            where = "%s %s" % (method.upper(), path)
            for p in op.get("parameters", []):
                found.append((where + " param " + p["name"], p["schema"]))
            for ct, media in op.get("requestBody", {}).get("content", {}).items():
                found.append((where + " body " + ct, media["schema"]))
            for code, resp in op["responses"].items():
                for ct, media in resp.get("content", {}).items():
                    found.append((where + " %s %s" % (code, ct), media["schema"]))
    return found


def resolve(spec, ref):
    assert ref.startswith("#/"), ref
    node = spec
    for part in ref[2:].split("/"):
        assert part in node, "unresolvable $ref " + ref
        node = node[part]
    return node


def all_refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from all_refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from all_refs(v)


def test_structure_is_openapi_3_1(spec):
    jsonschema.Draft202012Validator.check_schema(OAS_SUBSET)
    errors = sorted(jsonschema.Draft202012Validator(OAS_SUBSET).iter_errors(spec),
                    key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join("%s: %s" % (list(e.absolute_path), e.message) for e in errors[:10])


def test_embedded_schemas_are_json_schema_2020_12(spec):
    schemas = walk_schemas(spec)
    assert len(schemas) > 100
    for where, s in schemas:
        try:
            jsonschema.Draft202012Validator.check_schema(s)
        except jsonschema.SchemaError as e:
            pytest.fail("%s: %s" % (where, e.message))


def test_refs_resolve_and_ids_are_unique(spec):
    refs = set(all_refs(spec))
    assert "#/components/schemas/ErrorEnvelope" in refs
    for ref in refs:
        resolve(spec, ref)
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    declared_tags = {t["name"] for t in spec["tags"]}
    used = {t for item in spec["paths"].values() for op in item.values() for t in op["tags"]}
    assert used <= declared_tags


def test_path_parameters_match_templates(spec):
    for path, item in spec["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (method, path, declared)


def test_every_route_is_described(spec):
    routes = list_routes()
    missing = []
    for method, path in routes:
        item = spec["paths"].get(oas_path(path))
        if item is None or method.lower() not in item:
            missing.append("%s %s" % (method, path))
    assert not missing, "routes missing from openapi.json: %s" % missing
    # Nothing described that the server does not route.
    described = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    assert described == {(m, oas_path(p)) for m, p in routes}


def test_operations_carry_their_params_and_envelopes(spec, spec_server):
    info = spec_server.client(key=None).get("/api/v1", auth=False).json
    ops_by_id = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            ops_by_id[op["operationId"]] = (method, path, op)
    # GET query params come from the operation's params schema.
    m, p, op = ops_by_id["shipments_list"]
    assert (m, p) == ("get", "/api/v1/shipments")
    params = {x["name"]: x for x in op["parameters"]}
    assert params["limit"]["in"] == "query" and params["limit"]["schema"]["type"] == "integer"
    assert set(params["status"]["schema"]["enum"]) >= {"planned", "delivered"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"] == \
        "#/components/schemas/ListEnvelope"
    assert "security" not in op  # the document's default: bearer or X-API-Key
    # A create answers 201, messages.send 202; the path id is not in the body schema.
    m, p, op = ops_by_id["threads_create"]
    assert "201" in op["responses"] and op["requestBody"]["content"]["application/json"]
    m, p, op = ops_by_id["messages_send"]
    assert "202" in op["responses"]
    reply = [o for (mm, pp, o) in ops_by_id.values()
             if pp == "/api/v1/communications/threads/{id}/messages" and mm == "post"][0]
    body = reply["requestBody"]["content"]["application/json"]["schema"]
    assert "thread_id" not in body.get("properties", {})
    assert "thread_id" not in body.get("required", [])
    # Public routes need no credential; errors use the envelope with its codes.
    for pid in ("health", "info", "openapi"):
        assert ops_by_id[pid][2]["security"] == []
    err = spec["components"]["schemas"]["ErrorEnvelope"]
    codes = err["properties"]["error"]["properties"]["code"]["enum"]
    assert {"invalid_argument", "unauthenticated", "not_found", "rate_limited"} <= set(codes)
    assert "Retry-After" in spec["components"]["responses"]["RateLimited"]["headers"]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["apiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    # /ops/{name} lists every operation the engine has.
    m, p, op = ops_by_id["call_operation"]
    name_param = [x for x in op["parameters"] if x["name"] == "name"][0]
    assert sorted(name_param["schema"]["enum"]) == sorted(info["operations"])
    # The document is the same on every fetch (generated once).
    again = spec_server.client(key=None).get("/api/v1/openapi.json", auth=False).json
    assert json.dumps(again, sort_keys=True) == json.dumps(spec, sort_keys=True)
