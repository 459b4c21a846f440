"""A refused code request in chromium: the page the app answers, under its own CSP, counts the button down.

Chromium asks the Flask app itself (each request answered through the test client, headers and all), so the
real page, the real Content-Security-Policy and the real `app.js` meet without a gunicorn of their own.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from playwright import sync_api

from tests.browser.live import launch_chromium
from tests.plugin import WORKER_REDIS_URL

ORIGIN = "http://localhost"


def serve_with(page: Any, client: Any) -> None:
    def answer(route: Any) -> None:
        request = route.request
        path = request.url[len(ORIGIN):]
        response = client.open(path, method=request.method, data=request.post_data_buffer,
                               headers={"Content-Type": request.headers.get("content-type", "")})
        body = response.get_data()
        response.close()  # static files are answered from open files
        route.fulfill(status=response.status_code, body=body,
                      headers={k: v for k, v in response.headers.items() if k.lower() != "content-length"})

    page.route(f"{ORIGIN}/**", answer)


@pytest.mark.config(RATELIMIT_ENABLED=True, REDIS_URL=WORKER_REDIS_URL, PHONE_CODE_RATE_LIMIT="1 per 4 seconds")
def test_a_refused_code_request_counts_the_send_button_down(app, tenant_a):
    redis.Redis.from_url(WORKER_REDIS_URL).flushdb()
    client = app.test_client()
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            serve_with(page, client)
            for _ in range(2):
                page.goto(f"{ORIGIN}/t/alpha/citizen")
                page.get_by_label("手机号码").fill("13800138000")
                page.get_by_role("button", name="发送验证码").click()
            button = page.locator("form[action$='/citizen'] button[type=submit]")
            sync_api.expect(page.locator("#phone-error")).to_contain_text("该号码获取验证码次数过多")
            sync_api.expect(button).to_be_disabled()
            first = button.inner_text()
            assert first.endswith("秒后可重新发送"), first
            page.wait_for_timeout(1200)
            assert button.inner_text() != first  # it counts
            sync_api.expect(button).to_be_enabled(timeout=8000)
            sync_api.expect(button).to_have_text("发送验证码")
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            browser.close()


@pytest.mark.config(RATELIMIT_ENABLED=True, REDIS_URL=WORKER_REDIS_URL, PHONE_CODE_RATE_LIMIT="1 per 4 seconds")
def test_the_report_forms_code_line_is_refused_in_place_and_counts_down(app, tenant_a):
    """htmx swaps the 429 answer into the form (base.html's responseHandling), and the new button counts down."""
    redis.Redis.from_url(WORKER_REDIS_URL).flushdb()
    client = app.test_client()
    with sync_api.sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page()
            serve_with(page, client)
            page.goto(f"{ORIGIN}/t/alpha/grid_cases/report")
            page.locator("#f-phone").fill("13800138000")
            page.get_by_role("button", name="发送验证码").click()
            sync_api.expect(page.locator("#code-line [role=status]")).to_be_visible()
            page.get_by_role("button", name="发送验证码").click()
            sync_api.expect(page.locator("#code-line")).to_contain_text("该号码获取验证码次数过多")
            button = page.locator("#code-line button")
            sync_api.expect(button).to_be_disabled()
            sync_api.expect(button).to_contain_text("秒后可重新发送")
            sync_api.expect(page.locator("#f-phone")).to_have_value("13800138000")
            sync_api.expect(button).to_be_enabled(timeout=8000)
            sync_api.expect(button).to_have_text("发送验证码")
        finally:
            browser.close()
