"""Fixtures: one banxway-server per database backend (SQLite always; PostgreSQL when
BANXWAY_TEST_PG_URL names a server, required when BANXWAY_REQUIRE_PG=1)."""

import os
import subprocess
import urllib.parse
import uuid

import pytest

from server_harness import Server, server_bin

PSQL = "/usr/bin/psql"
CORS_ORIGIN = "http://app.example.test"


def backends():
    names = ["sqlite"]
    if os.environ.get("BANXWAY_TEST_PG_URL") or os.environ.get("BANXWAY_REQUIRE_PG") == "1":
        names.append("postgres")
    return names


def _psql(admin_url, sql):
    subprocess.run([PSQL, admin_url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                   check=True, capture_output=True, timeout=60)


class PgDatabase:
    """A fresh database on the test PostgreSQL server, dropped afterwards."""

    def __init__(self, admin_url):
        self.admin_url = admin_url
        self.name = "bx_server_" + uuid.uuid4().hex[:12]
        _psql(admin_url, 'CREATE DATABASE "%s" TEMPLATE template0' % self.name)
        u = urllib.parse.urlparse(admin_url)
        self.url = urllib.parse.urlunparse(u._replace(path="/" + self.name))

    def drop(self):
        _psql(self.admin_url, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)


def pytest_configure(config):
    if not os.path.exists(server_bin()):
        raise pytest.UsageError("banxway-server not found at %s (set BANXWAY_SERVER_BIN)"
                                % server_bin())


@pytest.fixture(scope="module", params=backends())
def database(request, tmp_path_factory):
    """A database URL for one backend; the yielded dict also carries a scratch directory."""
    workdir = str(tmp_path_factory.mktemp("server-" + request.param))
    if request.param == "sqlite":
        yield {"backend": "sqlite", "url": "sqlite://" + os.path.join(workdir, "bx.db"),
               "workdir": workdir}
        return
    admin_url = os.environ.get("BANXWAY_TEST_PG_URL")
    if not admin_url:
        pytest.fail("BANXWAY_REQUIRE_PG=1 but BANXWAY_TEST_PG_URL is not set")
    db = PgDatabase(admin_url)
    try:
        yield {"backend": "postgres", "url": db.url, "workdir": workdir}
    finally:
        db.drop()


@pytest.fixture(scope="module")
def server(database):
    """A server on an empty database: it bootstraps and prints its admin key."""
    s = Server(database["url"], database["workdir"], env={"CORS_ORIGINS": CORS_ORIGIN})
    yield s
    code = s.stop()
    assert code == 0, "server exited with %r; stderr tail: %s" % (code, s.stderr_text()[-2000:])


@pytest.fixture
def api(server):
    c = server.client()
    yield c
    c.close()


@pytest.fixture
def sqlite_workdir(tmp_path):
    return str(tmp_path)
