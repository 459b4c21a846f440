"""Make the README screenshots: docs/screenshot.png (desktop), docs/screenshot-phone.png (375 px) and
docs/screenshot-case-phone.png (a case on a 375 px phone, the whole page).

    .venv/bin/python scripts/screenshots.py [--page dashboard|modules]

Uses the browser journeys' set-up (tests/browser/live.py): a fresh database with the demo districts,
gunicorn, Debian's chromium. The first two sign in to 芦淞区 as the district admin, in Chinese; the case is
万柏林区's leak that the water bureau has taken on, as its handler sees it: the facts, the steps they may take
(the usual one open) and the timeline from the grid up to the department.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tenants.demo import DEMO_PASSWORD  # noqa: E402
from tests.browser.live import DEMO_ACCOUNTS, DEVICES, launch_chromium, live_server  # noqa: E402

PAGES = {"dashboard": "/t/lusong/", "modules": "/t/lusong/admin/modules"}


def sign_in(browser: Any, base_url: str, device: str, username: str, tenant: str) -> Any:
    options = dict(DEVICES[device])
    if device == "desktop":
        options["device_scale_factor"] = 1
    context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    page = context.new_page()
    page.goto(f"/t/{tenant}/login")
    page.fill("#f-login", username)
    page.fill("#f-password", DEMO_PASSWORD)
    page.locator("form[action$='/login'] button[type=submit]").click()
    page.wait_for_url(f"**/t/{tenant}/")
    return page


def shoot_case(browser: Any, base_url: str, path: Path) -> None:
    """The case the water bureau works on, from the department's list, on the handler's phone."""
    page = sign_in(browser, base_url, "phone", DEMO_ACCOUNTS["dept_handler"], "wanbailin")
    page.goto("/t/wanbailin/grid_cases/?view=department")
    with page.expect_navigation():
        page.locator(".case-card a").first.tap()
    page.wait_for_load_state("networkidle")  # the photos and the inbox count
    page.screenshot(path=str(path), full_page=True)
    page.context.close()
    print(f"wrote {path.relative_to(ROOT)}")


def shoot(base_url: str, page_path: str, out: dict[str, Path]) -> None:
    with sync_playwright() as p:
        browser = launch_chromium(p)
        for device, path in out.items():
            if device == "case":
                shoot_case(browser, base_url, path)
                continue
            page = sign_in(browser, base_url, device, DEMO_ACCOUNTS["district_admin"], "lusong")
            context = page.context
            page.goto(page_path)
            page.wait_for_load_state("networkidle")  # the dashboard's widgets arrive through htmx
            if device == "phone":
                page.locator("#main-menu summary").tap()  # show the menu open: it is what a phone user sees
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path), full_page=device == "desktop")
            context.close()
            print(f"wrote {path.relative_to(ROOT)}")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", choices=sorted(PAGES), default="dashboard")
    args = parser.parse_args()
    out = {"desktop": ROOT / "docs" / "screenshot.png", "phone": ROOT / "docs" / "screenshot-phone.png",
           "case": ROOT / "docs" / "screenshot-case-phone.png"}
    with tempfile.TemporaryDirectory(prefix="wgt-screenshots-") as tmp, live_server(Path(tmp)) as server:
        shoot(server.url, PAGES[args.page], out)


if __name__ == "__main__":
    main()
