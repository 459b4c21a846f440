"""One log line per request: JSON in production with the fields an operator needs, never a phone or a secret;
the request id comes back as a header (the incoming one when well formed)."""

from __future__ import annotations

import json
import logging
import re

import pytest

from saas import logs
from saas.logs import JsonFormatter, TextFormatter


def _request_lines(caplog):
    return [r for r in caplog.records if r.name == "saas.request"]


def test_a_request_line_is_json_with_its_fields_and_no_phone_or_code(client, tenant_a, phone_codes, caplog):
    caplog.set_level(logging.INFO)
    answer = client.post("/t/alpha/citizen", data={"phone": "13712345678"},
                         headers={"X-Request-ID": "lb-7f3a9c01"})
    assert answer.status_code == 200
    code = phone_codes.last("13712345678")
    [record] = [r for r in _request_lines(caplog) if r.request_id == "lb-7f3a9c01"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == answer.headers["X-Request-ID"] == "lb-7f3a9c01"
    assert line["method"] == "POST"
    assert line["endpoint"] == "auth.citizen"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["statements"] > 0
    assert line["tenant"] == "alpha"
    assert line["user_id"] is None
    assert {"time", "level", "logger", "message"} <= set(line)
    # nothing the request wrote to any log carries the phone or the code, in JSON or in text
    for r in caplog.records:
        for text in (JsonFormatter().format(r), TextFormatter().format(r)):
            assert "13712345678" not in text
            assert code not in text


def test_the_line_names_the_user_by_id_only(client, factory, tenant_a, login_as, caplog):
    caplog.set_level(logging.INFO)
    user = factory.user(tenant_a, name="张秀英", phone="13912345678")
    login_as(user)
    assert client.get("/t/alpha/").status_code == 200
    [record] = _request_lines(caplog)
    line = json.loads(JsonFormatter().format(record))
    assert (line["user_id"], line["tenant"], line["endpoint"]) == (user.id, "alpha", "shell.home")
    text = JsonFormatter().format(record) + TextFormatter().format(record)
    assert "张秀英" not in text
    assert "13912345678" not in text


@pytest.mark.one_backend
def test_a_well_formed_request_id_is_echoed_and_any_other_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "2f1c7e0a-9b4d-4c11-8e0f-3a5b6c7d8e9f"}).headers[
        "X-Request-ID"] == "2f1c7e0a-9b4d-4c11-8e0f-3a5b6c7d8e9f"
    for bad in ("short", "has space inside", 'x" injected {"level": 1}', "<script>alert(1)</script>", "a" * 200):
        got = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", got), (bad, got)
    first = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert client.get("/healthz").headers["X-Request-ID"] != first
    # an error answer carries one too
    assert client.get("/no-such-page").headers["X-Request-ID"]


@pytest.mark.one_backend
def test_the_embedded_default_logs_readable_text_and_production_json(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/healthz", headers={"X-Request-ID": "text-line-0001"})
    [record] = _request_lines(caplog)
    text = TextFormatter().format(record)
    assert "GET shell.healthz 200" in text
    assert text.endswith("[text-line-0001]")
    assert logs.log_format({"REDIS_URL": None, "LOG_FORMAT": ""}) == "text"
    assert logs.log_format({"REDIS_URL": "redis://127.0.0.1:6379/0", "LOG_FORMAT": ""}) == "json"
    assert logs.log_format({"REDIS_URL": None, "LOG_FORMAT": "JSON"}) == "json"


@pytest.mark.one_backend
def test_a_failed_statement_is_logged_without_its_values(app):
    import sqlalchemy as sa

    from saas import db

    with app.app_context(), pytest.raises(sa.exc.DBAPIError) as failed:
        db.session.execute(sa.text("SELECT no_such_column FROM tenants WHERE slug = :s"), {"s": "13812345678"})
    assert "13812345678" not in str(failed.value)
