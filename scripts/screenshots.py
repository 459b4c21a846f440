"""Make the README screenshots: docs/screenshot.png (desktop) and docs/screenshot-phone.png (375 px).

    .venv/bin/python scripts/screenshots.py [--page dashboard|modules]

Uses the browser journeys' set-up (tests/browser/live.py): a fresh database with the demo districts,
gunicorn, Debian's chromium. Signs in to 芦淞区 as the district admin, in Chinese.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tenants.demo import DEMO_PASSWORD  # noqa: E402
from tests.browser.live import DEVICES, launch_chromium, live_server  # noqa: E402

PAGES = {"dashboard": "/t/lusong/", "modules": "/t/lusong/admin/modules"}


def shoot(base_url: str, page_path: str, out: dict[str, Path]) -> None:
    with sync_playwright() as p:
        browser = launch_chromium(p)
        for device, path in out.items():
            options = dict(DEVICES[device])
            if device == "desktop":
                options["device_scale_factor"] = 1
            context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai", **options)
            page = context.new_page()
            page.goto("/t/lusong/login")
            page.fill("#f-login", "admin")
            page.fill("#f-password", DEMO_PASSWORD)
            page.locator("form[action$='/login'] button[type=submit]").click()
            page.wait_for_url("**/t/lusong/")
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
    out = {"desktop": ROOT / "docs" / "screenshot.png", "phone": ROOT / "docs" / "screenshot-phone.png"}
    with tempfile.TemporaryDirectory(prefix="wgt-screenshots-") as tmp, live_server(Path(tmp)) as server:
        shoot(server.url, PAGES[args.page], out)


if __name__ == "__main__":
    main()
