"""Library error codes arrive as the matching banxway exception classes."""

import pickle
import uuid

import pytest

import banxway
from banxway import errors

MISSING = "01890000-0000-7000-8000-000000000000"


def test_hierarchy_covers_every_library_code():
    for code in banxway._banxway.CODES:
        cls = errors._BY_CODE.get(code)
        assert cls is not None, f"no exception class for code {code!r}"
        assert issubclass(cls, banxway.Error)
        assert cls.code == code
        assert getattr(banxway, cls.__name__) is cls
    assert issubclass(banxway.Error, Exception)


def test_not_found_for_unknown_id(engine):
    with pytest.raises(banxway.NotFound) as ei:
        engine.call("threads.get", id=MISSING)
    e = ei.value
    assert isinstance(e, banxway.Error)
    assert e.code == "not_found"
    assert e.message
    assert isinstance(e.details, dict)
    assert str(e).startswith("not_found: ")


def test_not_found_for_unknown_operation(engine):
    with pytest.raises(banxway.NotFound):
        engine.call("threads.explode")


def test_invalid_argument_for_unknown_field(engine):
    with pytest.raises(banxway.InvalidArgument) as ei:
        engine.call("threads.create", subject="ok", colour="blue")
    assert ei.value.code == "invalid_argument"
    assert "colour" in ei.value.message + str(ei.value.details)


def test_invalid_argument_for_wrong_type(engine):
    with pytest.raises(banxway.InvalidArgument) as ei:
        engine.call("threads.create", subject=42)
    assert "subject" in ei.value.message + str(ei.value.details)
    with pytest.raises(banxway.InvalidArgument):
        engine.call("threads.list", limit="ten")
    with pytest.raises(banxway.InvalidArgument):
        engine.call("threads.create")  # subject is required
    with pytest.raises(banxway.InvalidArgument):
        engine.call("threads.get", id="not-a-uuid")


def test_params_that_are_not_json(engine):
    with pytest.raises(banxway.InvalidArgument):
        engine.call("threads.create", subject=object())
    with pytest.raises(banxway.InvalidArgument):
        engine.call("threads.list", limit=float("nan"))
    with pytest.raises(TypeError):
        engine.call_with("threads.list", ["not", "a", "mapping"])


def test_unauthenticated_for_bad_key(db_url):
    with banxway.Engine(db_url) as e:
        e.bootstrap(f"Org {uuid.uuid4().hex[:6]}")
        e.use_key("bxk_this_is_not_a_key")
        with pytest.raises(banxway.Unauthenticated) as ei:
            e.call("threads.list")
        assert ei.value.code == "unauthenticated"
        with pytest.raises(banxway.Unauthenticated):
            e.authenticate("garbage")
        with pytest.raises(banxway.Unauthenticated):
            e.events()
        e.use_key(None)
        with pytest.raises(banxway.Unauthenticated):
            e.call("threads.list")


def test_revoked_key_stops_working(engine):
    created = engine.call("apikeys.create", role="agent", name="temp")
    engine.call("threads.list", limit=1)
    assert engine.as_key(created["key"]).call("threads.list")["items"] == []
    engine.call("apikeys.revoke", id=created["id"])
    with pytest.raises(banxway.Unauthenticated):
        engine.as_key(created["key"]).call("threads.list")


def test_permission_denied_for_viewer(engine):
    key = engine.call("apikeys.create", role="viewer")["key"]
    with pytest.raises(banxway.PermissionDenied) as ei:
        engine.as_key(key).call("customers.create", name="X")
    assert ei.value.code == "permission_denied"


def test_exceptions_pickle_with_their_fields():
    e = errors._from_status("invalid_argument", "bad field", '{"field": "subject"}')
    assert type(e) is banxway.InvalidArgument
    assert e.details == {"field": "subject"}
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is banxway.InvalidArgument
    assert (back.code, back.message, back.details) == ("invalid_argument", "bad field",
                                                       {"field": "subject"})


def test_unknown_code_and_bad_details_do_not_mask_the_error():
    e = errors._from_status("brand_new_code", "msg", "not json")
    assert type(e) is banxway.Error
    assert e.code == "brand_new_code"
    assert e.details == {"raw": "not json"}


def test_payload_too_large_from_engine_option():
    with banxway.Engine("sqlite::memory:", max_params_bytes=200) as e:
        e.bootstrap("Small", use=True)
        e.call("threads.create", subject="fits")
        with pytest.raises(banxway.PayloadTooLarge) as ei:
            e.call("threads.create", subject="x" * 500)
        assert ei.value.code == "payload_too_large"


def test_bad_database_url_is_an_error():
    with pytest.raises(banxway.Error):
        banxway.Engine("mysql://nope")
