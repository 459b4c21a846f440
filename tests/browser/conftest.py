"""Browser journeys against the real app: gunicorn in its own process, Debian's chromium through Playwright.

Every test that takes `page` runs twice, on a 1280x800 desktop and on a 375 px phone. When a test fails,
a screenshot and the HTML of each open page go to test-artifacts/browser/<test name>/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask_babel import force_locale, gettext

# imported, never `importorskip`: without Playwright the journeys must fail (a collection error), not vanish
from playwright import sync_api

from tenants.demo import DEMO_PASSWORD
from tests.browser.axe import AxeChecker
from tests.browser.live import (
    CHROMIUM,
    DEMO_ACCOUNTS,
    DEVICES,
    LiveServer,
    launch_chromium,
    live_server,
)
from tests.plugin import ARTIFACTS


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app served by gunicorn on a fresh, migrated and seeded database."""
    if not Path(CHROMIUM).exists():
        # a missing browser is a failure, not a skip: `make test` installs it; deselect with -m "not browser"
        pytest.fail(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with live_server(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture(scope="session")
def live_url(live: LiveServer) -> str:
    return live.url


@pytest.fixture(scope="session")
def browser(live_url: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = launch_chromium(p)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def t(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., str]:
    """What the catalogue says for an English msgid in a language (Chinese unless told): `t("Modules")`."""
    from saas import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('i18n') / 'unused.sqlite'}",
                      "REDIS_URL": None})

    def translate(msgid: str, locale: str = "zh_CN", **variables: Any) -> str:
        with app.test_request_context(), force_locale(locale):
            return gettext(msgid, **variables)

    return translate


AXE = AxeChecker()


@pytest.fixture(scope="session")
def axe() -> Iterator[AxeChecker]:
    """What axe-core found over the run: written to test-artifacts/axe.txt and under the run's summary."""
    yield AXE
    if AXE.checked:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "axe.txt").write_text(AXE.summary() + "\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if AXE.checked:
        terminalreporter.write_line(AXE.summary())


@pytest.fixture(params=list(DEVICES), ids=list(DEVICES))
def device(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_context(browser: Any, live_url: str, axe: AxeChecker,
                request: pytest.FixtureRequest) -> Iterator[Callable[[str], Any]]:
    """Open a fresh browser context (its own cookies) for a device, with axe-core on every page it opens (a
    serious or critical violation fails the test); closed after the test."""
    contexts: list[Any] = []
    request.node.wgt_contexts = contexts

    def make(device_name: str) -> Any:
        context = browser.new_context(base_url=live_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      **DEVICES[device_name])
        context.set_default_timeout(10_000)
        context.wgt_device = device_name
        context.wgt_problems = []
        context.on("page", lambda page: _watch(page, context.wgt_problems))
        axe.watch(context, context.wgt_problems)
        contexts.append(context)
        return context

    yield make
    problems = [p for c in contexts for p in c.wgt_problems]
    for context in contexts:
        context.close()
    assert not problems, "the pages raised errors or broke the content security policy:\n" + "\n".join(problems)


def _watch(page: Any, problems: list[str]) -> None:
    page.on("pageerror", lambda err: problems.append(f"{page.url}: {err}"))
    page.on("console", lambda msg: problems.append(f"{page.url}: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text else None)


@pytest.fixture
def page(new_context: Callable[[str], Any], device: str) -> Any:
    return new_context(device).new_page()


@pytest.fixture
def phone_page(new_context: Callable[[str], Any]) -> Any:
    return new_context("phone").new_page()


@pytest.fixture
def sign_in(t: Callable[..., str]) -> Callable[..., Any]:
    """Sign in through the login page as the demo account holding `role`; returns the page on the dashboard."""

    def do(page: Any, role: str = "district_admin", tenant: str = "lusong", locale: str = "zh_CN") -> Any:
        page.goto(f"/t/{tenant}/login")
        page.get_by_label(t("Username or phone number", locale)).fill(DEMO_ACCOUNTS[role])
        page.get_by_label(t("Password", locale), exact=True).fill(DEMO_PASSWORD)
        press(page, page.get_by_role("button", name=t("Sign in", locale), exact=True))
        page.wait_for_url(f"**/t/{tenant}/")
        sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(t("Dashboard", locale))
        return page

    return do


def press(page: Any, locator: Any) -> None:
    """What a finger does on the phone, a mouse on the desktop."""
    if getattr(page.context, "wgt_device", "desktop") == "phone":
        locator.tap()
    else:
        locator.click()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    contexts = getattr(item, "wgt_contexts", None)
    if report.failed and report.when in ("setup", "call") and contexts:
        folder = ARTIFACTS / "browser" / re.sub(r"[^\w.-]+", "_", item.name)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        n = 0
        for context in contexts:
            for open_page in context.pages:
                n += 1
                try:
                    open_page.screenshot(path=str(folder / f"page{n}.png"), full_page=True)
                    (folder / f"page{n}.html").write_text(f"<!-- {open_page.url} -->\n{open_page.content()}")
                except Exception as exc:  # a broken page must not hide the test's own failure
                    (folder / f"page{n}.error.txt").write_text(repr(exc))
        report.sections.append(("browser artifacts", str(folder)))
        reporter = item.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"\nbrowser artifacts: {folder}")
    return report
