"""What the journeys do on pages, as a person does it: the menu, the inbox, a phone code read from the page
(where the embedded default shows it), a photo from the phone's camera, and the check that a page fits.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import press
from tests.browser.live import LiveServer

CJK = re.compile(r"[\u4e00-\u9fff]")
PHONE_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def assert_fits(page: Page) -> None:
    """Nothing on the page makes it scroll sideways."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} scrolls horizontally: {width[0]} px of content in {width[1]} px"


def box(locator: Any) -> dict[str, float]:
    """Where an element is on the screen (it must be shown)."""
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not on the screen"
    return dict(found)


def assert_tappable(page: Page, locator: Any, min_height: float = 32) -> None:
    """On the phone, something a finger must hit is tall enough for it (32 css px and more)."""
    if getattr(page.context, "wgt_device", "desktop") == "phone":
        height = box(locator)["height"]
        assert height >= min_height, f"{locator} is {height:.0f} px tall: too small to tap"


def menu(page: Page) -> Any:
    """The menu on the screen: a staff member's side navigation at desktop width, else the drop-down."""
    side = page.locator("#side-nav")
    wide = (page.viewport_size or {"width": 0})["width"] >= 1024  # the layout's breakpoint (app.css)
    return side if wide and side.count() else page.locator("#main-menu")


def open_menu(page: Page, t: Callable[..., str], locale: str = "zh_CN") -> Any:
    shown = menu(page)
    if shown.get_attribute("id") == "side-nav":
        return shown  # always open
    if shown.get_attribute("open") is None:
        press(page, shown.get_by_text(t("Menu", locale), exact=True))
    expect(shown.get_by_role("list")).to_be_visible()
    return shown


def close_menu(page: Page) -> None:
    dropdown = page.locator("#main-menu")
    if dropdown.is_visible() and dropdown.get_attribute("open") is not None:
        press(page, dropdown.locator("summary"))


def go_by_menu(page: Page, t: Callable[..., str], label: str, locale: str = "zh_CN",
               heading: str | None = None) -> None:
    """Open the menu, tap the entry, land on the page whose heading is `heading` (the entry's label unless told)."""
    menu = open_menu(page, t, locale)
    press(page, menu.get_by_role("link", name=label, exact=True))
    page.wait_for_load_state()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading or label)
    assert_fits(page)


class PhoneCodes:
    """The six-digit code the server sent to a resident's phone, read where the embedded default (which the
    journeys' server is: SQLite in its instance folder, no Redis) shows it: on the page that sent it
    (saas.auth.shows_codes_on_page). No table and no log line holds a code in clear.
    """

    def __init__(self, live: LiveServer):
        self.live = live

    def code(self, page: Page) -> str:
        line = page.locator("[data-dev-code]")
        expect(line).to_have_count(1)
        found = PHONE_CODE.fullmatch(line.get_attribute("data-dev-code") or "")
        assert found, "the page shows no six-digit code"
        return found.group(1)


def jpeg(name: str = "site", size: tuple[int, int] = (64, 48),
         color: tuple[int, int, int] = (70, 110, 160)) -> dict[str, Any]:
    """A small JPEG as the phone's camera would hand it to the file field."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG", quality=80)
    return {"name": f"{name}.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}


def images_loaded(locator: Any) -> None:
    """Every image in the locator has arrived and decoded (a broken photo has no natural width)."""
    count = locator.count()
    assert count > 0, "no image"
    for i in range(count):
        image = locator.nth(i)
        image.scroll_into_view_if_needed()
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth") > 0, f"photo {i + 1} did not load"


def open_notice(page: Page, t: Callable[..., str], title: str | re.Pattern[str]) -> None:
    """In the inbox (through its link in the top bar), open the notice with this title."""
    press(page, page.locator(".topbar .inbox-link"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Inbox"))
    assert_fits(page)
    # the newest first; a resident told twice of the same step finds the same link in both
    text = page.get_by_text(title, exact=True) if isinstance(title, str) else page.get_by_text(title)
    notice = page.locator(".inbox li.notice").filter(has=text).first
    expect(notice).to_be_visible()
    link = notice.get_by_role("link", name=t("Open"), exact=True)
    assert_tappable(page, link)
    with page.expect_navigation():
        press(page, link)
    page.wait_for_load_state()
    assert_fits(page)
