"""Fixtures for the banxway Python tests.

The module under test is the build tree's (ctest sets PYTHONPATH=<build>/python). Tests taking
the `engine` fixture run once per backend: SQLite in memory always, and PostgreSQL when
BANXWAY_TEST_PG_URL names a server (a fresh database is created for the session and dropped at
the end). BANXWAY_REQUIRE_PG=1 turns a missing URL into a failure instead of a skip, so a CI
job meant to cover PostgreSQL cannot silently pass without it.
"""

import os
import subprocess
import urllib.parse
import uuid

import pytest

import banxway

PSQL = "/usr/bin/psql"


def _with_database(url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"BANXWAY_TEST_PG_URL must be a postgres:// URL, got {url!r}")
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


def _psql(url: str, sql: str) -> None:
    # Without the sanitizer build's LD_PRELOAD (the ASan runtime, for the extension module):
    # psql with it loaded hangs here instead of running.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    subprocess.run([PSQL, url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, env=env)


@pytest.fixture(scope="session")
def pg_url():
    base = os.environ.get("BANXWAY_TEST_PG_URL")
    if not base:
        if os.environ.get("BANXWAY_REQUIRE_PG") == "1":
            pytest.fail("BANXWAY_REQUIRE_PG=1 but BANXWAY_TEST_PG_URL is not set")
        pytest.skip("BANXWAY_TEST_PG_URL is not set")
    name = f"bx_pytest_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        _psql(base, f"CREATE DATABASE {name} TEMPLATE template0")
    except subprocess.CalledProcessError as e:
        pytest.fail(f"cannot create database {name}: {e.stderr.decode(errors='replace')}")
    yield _with_database(base, name)
    # FORCE: an engine a failed test never closed may still hold connections.
    try:
        _psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except subprocess.CalledProcessError:
        pass


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request):
    if request.param == "sqlite":
        return "sqlite::memory:"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    """An engine with a fresh organization, calling with its admin API key."""
    with banxway.Engine(db_url) as e:
        e.bootstrap(f"Test Org {uuid.uuid4().hex[:8]}", use=True)
        yield e


@pytest.fixture
def org(engine):
    return engine.call("orgs.get")
