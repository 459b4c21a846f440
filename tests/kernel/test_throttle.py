"""Limits keyed on what is attacked, through the real Redis: accounts, phones across districts, proxies by config."""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from saas import db
from saas.notify import Notification
from tests.plugin import TEST_PASSWORD, WORKER_REDIS_URL

LB = {"REMOTE_ADDR": "10.0.0.1"}  # the load balancer every district's users arrive through
THROTTLED = {"RATELIMIT_ENABLED": True, "REDIS_URL": WORKER_REDIS_URL}


@pytest.fixture(autouse=True)
def empty_redis() -> None:
    redis.Redis.from_url(WORKER_REDIS_URL).flushdb()


def browser(app: Flask, forwarded_for: str | None = None, lang: str | None = None) -> Any:
    client = app.test_client()
    client.environ_base.update(LB)
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    if lang:
        with client.session_transaction() as sess:
            sess["lang"] = lang
    return client


def login(client: Any, who: str, password: str = TEST_PASSWORD) -> int:
    return client.post("/t/alpha/login", data={"login": who, "password": password}).status_code


@pytest.mark.config(**THROTTLED, TRUSTED_PROXY_HOPS=1, LOGIN_RATE_LIMIT="3 per minute")
def test_one_persons_bad_logins_do_not_lock_out_the_district_behind_one_proxy(app, factory, tenant_a):
    factory.user(tenant_a, username="wang")
    factory.user(tenant_a, username="li")
    attacker = browser(app, "203.0.113.9")
    assert [login(attacker, "wang", "nope") for _ in range(4)] == [422, 422, 422, 429]
    # the account is what is attacked: another address does not buy more guesses at it
    assert login(browser(app, "198.51.100.7"), "wang", "nope") == 429
    # a colleague behind the same load balancer signs in as ever
    assert login(browser(app, "198.51.100.8"), "li") == 302
    assert login(browser(app, "203.0.113.9"), "li") == 302


@pytest.mark.config(**THROTTLED, LOGIN_RATE_LIMIT="100 per minute", LOGIN_ADDRESS_RATE_LIMIT="3 per minute")
def test_forwarded_addresses_are_not_believed_by_default(app, factory, tenant_a):
    codes = [login(browser(app, f"203.0.113.{i}"), f"user{i}", "nope") for i in range(4)]
    assert codes == [422, 422, 422, 429]  # a forged X-Forwarded-For buys no new address


@pytest.mark.config(**THROTTLED, TRUSTED_PROXY_HOPS=1, LOGIN_RATE_LIMIT="100 per minute",
                    LOGIN_ADDRESS_RATE_LIMIT="3 per minute")
def test_a_trusted_proxy_gives_each_client_its_own_address_bound(app, factory, tenant_a):
    one = browser(app, "203.0.113.1")
    assert [login(one, f"user{i}", "nope") for i in range(4)] == [422, 422, 422, 429]
    assert login(browser(app, "203.0.113.2"), "user9", "nope") == 422
    # only the configured number of hops is believed: the address the proxy saw, not what the client wrote
    spoof = browser(app, "1.2.3.4, 203.0.113.1")
    assert login(spoof, "user8", "nope") == 429


def ask_code(client: Any, slug: str, phone: str) -> Any:
    return client.post(f"/t/{slug}/citizen", data={"phone": phone})


@pytest.mark.config(**THROTTLED)
def test_codes_for_one_phone_are_bounded_across_the_whole_deployment(app, factory, tenant_a, tenant_b):
    gamma = factory.tenant("gamma", "丙区", modules=("grid_cases",))
    phone = "13800138000"
    answers = [ask_code(browser(app, lang="en"), slug, phone).status_code for slug in ("alpha", "beta", "gamma")]
    assert answers == [200, 429, 429]
    # the report form's door counts in the same bucket
    report = browser(app).post("/t/beta/grid_cases/report/code", data={"phone": phone}, headers={"HX-Request": "true"})
    assert report.status_code == 429
    # and so does a staff member's forgotten password, which says so on its own form
    forgot = browser(app, lang="en").post("/t/gamma/password/forgot", data={"phone": phone})
    assert forgot.status_code == 429
    assert "Too many codes were asked for this number" in forgot.get_data(as_text=True)
    # another resident of the same districts, through the same proxy, still gets a code
    assert ask_code(browser(app), "beta", "13900139000").status_code == 200
    sent = 0
    for tenant in (tenant_a, tenant_b, gamma):
        with app.app_context(), db.tenant_context(tenant.id) as s:
            sent += s.scalar(sa.select(sa.func.count()).select_from(Notification)
                             .where(Notification.kind == "auth.phone_code")) or 0
    assert sent == 2


@pytest.mark.config(**THROTTLED, PHONE_CODE_RATE_LIMIT="2 per hour")
def test_a_refused_code_request_says_so_with_the_wait_and_a_countdown(app, tenant_a):
    en, zh = browser(app, lang="en"), browser(app)
    assert ask_code(en, "alpha", "13800138000").status_code == 200
    assert ask_code(zh, "alpha", "13800138000").status_code == 200
    refused = ask_code(en, "alpha", "13800138000")
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    wait = int(re.search(r'data-wait="(\d+)"', page).group(1))
    assert 3000 < wait <= 3601
    assert abs(int(refused.headers["Retry-After"]) - wait) <= 1
    assert re.search(rf"Too many codes were asked for this number\. Try again in {wait} seconds\.", page)
    button = re.search(r"<button type=\"submit\"[^>]*data-wait=[^>]*>", page).group(0)
    assert f'data-wait="{wait}"' in button
    assert "disabled" in button
    assert 'data-wait-text="Send code again in {s} s"' in button
    assert "13800138000" in page  # the number stays in the form
    chinese = ask_code(zh, "alpha", "13800138000").get_data(as_text=True)
    assert re.search(r"该号码获取验证码次数过多，请 \d+ 秒后再试。", chinese)
    assert 'data-wait-text="{s} 秒后可重新发送"' in chinese


@pytest.mark.config(**THROTTLED)
def test_the_report_forms_code_line_is_refused_in_place(app, tenant_a):
    hx = {"HX-Request": "true"}
    client = browser(app, lang="en")
    assert client.post("/t/alpha/grid_cases/report/code", data={"phone": "13800138000"}, headers=hx).status_code == 200
    refused = client.post("/t/alpha/grid_cases/report/code", data={"phone": "13800138000"}, headers=hx)
    assert refused.status_code == 429
    fragment = refused.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="code-line">')  # htmx swaps the line, not a whole error page
    assert "Too many codes were asked for this number. Try again in" in fragment
    assert "data-wait=" in fragment


@pytest.mark.config(**THROTTLED, LOGIN_RATE_LIMIT="1 per minute")
def test_a_refused_login_says_how_long_to_wait(app, tenant_a):
    client = browser(app, lang="en")
    assert login(client, "wang", "nope") == 422
    refused = client.post("/t/alpha/login", data={"login": "wang", "password": "nope"})
    assert refused.status_code == 429
    assert re.search(r"Too many attempts\. Try again in \d+ seconds?\.", refused.get_data(as_text=True))
