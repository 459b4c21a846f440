"""Security headers: HSTS on answers served over HTTPS only (as the WSGI server reports the scheme, never because a
client says so), and no server software named by the app."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.one_backend


def test_hsts_is_sent_over_https(client):
    answer = client.get("/healthz", base_url="https://localhost")
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    page = client.get("/t/alpha/login", base_url="https://localhost")
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_no_hsts_over_plain_http_even_when_a_client_claims_https(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    # X-Forwarded-Proto counts only from a proxy the server is configured to trust (gunicorn's
    # --forwarded-allow-ips), which the test client is not
    forged = client.get("/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "1.2.3.4"})
    assert "Strict-Transport-Security" not in forged.headers


@pytest.mark.config(HSTS_MAX_AGE=0)
def test_hsts_can_be_switched_off_by_the_operator(client):
    assert "Strict-Transport-Security" not in client.get("/healthz", base_url="https://localhost").headers


def test_the_app_names_no_server_software(app, client):
    @app.get("/probe-server-header")
    def probe():
        return "ok", 200, {"Server": "Werkzeug/3.1 Python/3.11"}

    assert "Server" not in client.get("/probe-server-header").headers
    import gunicorn

    assert gunicorn.SERVER == "gunicorn"  # the banner gunicorn sends: no version (pyproject pins gunicorn>=27)


@pytest.mark.config(TRUSTED_PROXY_HOPS=1)
def test_hsts_behind_a_trusted_proxy_that_terminated_https(client):
    answer = client.get("/healthz", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "1.2.3.4"})
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
