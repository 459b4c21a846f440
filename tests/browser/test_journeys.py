"""Journeys as people make them, in chromium, on a desktop and on a 375 px phone.

Expected texts come from the catalogue (`t("Modules")` is what a Chinese reader sees), so the tests read
what the person reads; where Chinese is promised, the text must also contain Chinese characters, so an
untranslated catalogue fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import press
from tests.browser.live import LiveServer
from tests.browser.pages import CJK, assert_fits, close_menu, go_by_menu, open_menu
from tests.browser.pages import menu as shown_menu

pytestmark = pytest.mark.browser

MODULE = "grid_cases"
MODULE_NAME = {"zh_CN": "网格事件", "en": "Grid cases"}


def module_entries(page: Page) -> Any:
    """Every menu entry of the module (it has several: cases, reporting, quick notes, ..., categories)."""
    return shown_menu(page).locator(f'a[data-module="{MODULE}"]')


def categories_entry(page: Page, t: Callable[..., str], locale: str = "zh_CN") -> Any:
    """The menu entry of the case categories, by the words a person reads: "网格事件 · 案件分类"."""
    label = f"{MODULE_NAME['en' if locale.startswith('en') else 'zh_CN']} · {t('Case categories', locale)}"
    return module_entries(page).filter(has_text=re.compile(f"^{re.escape(label)}$"))


def widgets(page: Page) -> Any:
    """Every dashboard widget of the module (my cases, case categories)."""
    return page.locator(f'.widget[data-module="{MODULE}"]')


def widget(page: Page) -> Any:
    """The case-categories widget: the one whose body opens the categories page."""
    return widgets(page).filter(has=page.locator(f'a[href$="/{MODULE}/categories"]'))


@pytest.fixture
def module_back_on(live: LiveServer) -> Iterator[dict[str, bool]]:
    """Unless the test got to switch it on again itself, the next test still finds the module on."""
    state = {"on": False}
    yield state
    if not state["on"]:
        live.flask("tenants", "modules", "lusong", "--enable", MODULE)


def test_admin_switches_a_module_off_and_on_and_its_data_stays(
    page: Page, new_context: Callable[[str], Any], sign_in: Callable[..., Page], t: Callable[..., str], device: str,
    module_back_on: dict[str, bool],
) -> None:
    sign_in(page)
    assert_fits(page)
    expect(widget(page).locator(".figure strong")).to_have_text(re.compile(r"^[1-9]\d*$"))
    active = widget(page).locator(".figure strong").inner_text()

    # the categories the district works with, reached through the menu
    menu = open_menu(page, t)
    expect(categories_entry(page, t)).to_have_count(1)
    entries = module_entries(page).count()
    assert entries > 1, "the module's other pages are missing from the menu"
    press(page, categories_entry(page, t))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Case categories"))
    assert_fits(page)
    categories = page.locator("table tbody tr").all_inner_texts()
    assert len(categories) >= int(active)

    go_by_menu(page, t, t("Modules"))
    card = page.locator(f"#module-{MODULE}")
    expect(card).to_have_attribute("data-enabled", "on")
    press(page, card.get_by_role("button", name=t("Switch off"), exact=True))
    # asked once more, with what stops and that the data stays
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Switch off %(name)s?", name=MODULE_NAME["zh_CN"]))
    press(page, page.get_by_role("button", name=t("Yes, switch it off"), exact=True))
    expect(card).to_have_attribute("data-enabled", "off")
    expect(card.locator(".state")).to_have_text(t("Off"))
    expect(page.get_by_role("status")).to_have_text(
        t("%(name)s is off; its data is kept and returns when you switch it on again.", name=MODULE_NAME["zh_CN"])
    )
    assert_fits(page)

    menu = open_menu(page, t)
    expect(module_entries(page)).to_have_count(0)
    expect(menu.get_by_role("link", name=t("Modules"), exact=True)).to_be_visible()
    close_menu(page)

    # a bookmark to the module's page now finds nothing
    response = page.goto(f"/t/lusong/{MODULE}/categories")
    assert response is not None
    assert response.status == 404
    assert_fits(page)
    press(page, page.get_by_role("link", name=t("Back to the start page"), exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Dashboard"))
    expect(widgets(page)).to_have_count(0)

    # the other district is not touched
    other = new_context(device).new_page()
    sign_in(other, tenant="wanbailin")
    expect(widget(other)).to_be_visible()
    open_menu(other, t)
    expect(categories_entry(other, t)).to_have_count(1)
    assert other.goto(f"/t/wanbailin/{MODULE}/categories").status == 200  # type: ignore[union-attr]
    expect(other.locator("table tbody tr").first).to_be_visible()
    other.close()

    go_by_menu(page, t, t("Modules"))
    press(page, card.get_by_role("button", name=t("Switch on"), exact=True))
    expect(card).to_have_attribute("data-enabled", "on")
    module_back_on["on"] = True
    expect(page.get_by_role("status")).to_have_text(t("%(name)s is on.", name=MODULE_NAME["zh_CN"]))

    open_menu(page, t)
    expect(module_entries(page)).to_have_count(entries)
    press(page, categories_entry(page, t))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Case categories"))
    assert page.locator("table tbody tr").all_inner_texts() == categories

    go_by_menu(page, t, t("Dashboard"))
    expect(widget(page).locator(".figure strong")).to_have_text(active)


def test_wrong_password_then_right_and_no_data_after_sign_out(page: Page, t: Callable[..., str]) -> None:
    page.goto("/t/lusong/")
    assert_fits(page)
    press(page, page.locator("#main").get_by_role("button", name=t("Staff sign-in"), exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Staff sign-in"))
    assert_fits(page)

    page.get_by_label(t("Username or phone number")).fill("admin")
    page.get_by_label(t("Password"), exact=True).fill("not-the-password")
    press(page, page.get_by_role("button", name=t("Sign in"), exact=True))
    wrong = t("Wrong username, phone number or password.")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(wrong)
    assert CJK.search(alert.inner_text()), f"the error is not in Chinese: {alert.inner_text()!r}"
    assert_fits(page)

    expect(page.get_by_label(t("Username or phone number"))).to_have_value("admin")
    page.get_by_label(t("Password"), exact=True).fill("wgt-demo-2026")
    with page.expect_response(lambda r: r.url.endswith("/t/lusong/") and r.request.method == "GET") as dashboard:
        press(page, page.get_by_role("button", name=t("Sign in"), exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Dashboard"))
    assert "no-store" in (dashboard.value.headers.get("cache-control") or "")
    expect(widget(page).locator(".figure strong")).to_have_text(re.compile(r"\d+"))

    go_by_menu(page, t, t("Staff"))
    staff_row = page.get_by_text("区网格中心管理员").first
    expect(staff_row).to_be_visible()

    press(page, page.get_by_role("button", name=t("Sign out"), exact=True))
    expect(page.get_by_role("status")).to_have_text(t("You have signed out."))
    expect(page.locator(".widget")).to_have_count(0)

    # back: the staff list is not shown again from any cache; the page asks to sign in
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Staff sign-in"))
    expect(page.get_by_text("区网格中心管理员")).to_have_count(0)
    assert_fits(page)
    # back once more, to where the dashboard was: the welcome page, no widgets
    page.go_back()
    expect(page.locator(".widget")).to_have_count(0)
    expect(page.locator("#main").get_by_role("button", name=t("Staff sign-in"), exact=True)).to_be_visible()


def test_language_switch_turns_pages_english_and_back_and_sticks(
    page: Page, sign_in: Callable[..., Page], t: Callable[..., str]
) -> None:
    page.goto("/t/lusong/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(t("Staff sign-in"))
    assert CJK.search(heading.inner_text()), f"the page is not in Chinese: {heading.inner_text()!r}"

    press(page, page.get_by_role("button", name="English", exact=True))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heading).to_have_text("Staff sign-in")
    assert_fits(page)

    # the choice holds through signing in and across pages
    sign_in(page, locale="en")
    expect(widget(page).locator(".figure")).to_contain_text("active categories")
    expect(widget(page).locator("header")).to_have_text(f"{MODULE_NAME['en']} · Case categories")
    go_by_menu(page, t, "Modules", locale="en")
    expect(page.locator(f"#module-{MODULE} strong")).to_have_text(MODULE_NAME["en"])

    press(page, page.get_by_role("button", name="中文", exact=True))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(heading).to_have_text(t("Modules"))
    assert CJK.search(heading.inner_text()), f"the page is not in Chinese: {heading.inner_text()!r}"
    go_by_menu(page, t, t("Dashboard"))
    expect(page.get_by_role("button", name="English", exact=True)).to_be_visible()


@pytest.mark.parametrize("role", ["district_admin", "grid_worker"])
def test_phone_pages_fit_and_the_menu_works(
    phone_page: Page, sign_in: Callable[..., Page], t: Callable[..., str], role: str
) -> None:
    page = phone_page
    for path in ("/", "/t/lusong/", "/t/lusong/login", "/t/lusong/citizen"):
        page.goto(path)
        assert_fits(page)
    sign_in(page, role=role)
    assert_fits(page)

    menu = open_menu(page, t)
    links = menu.get_by_role("link")
    count = links.count()
    assert count >= 2
    for i in range(count):
        link = open_menu(page, t).get_by_role("link").nth(i)
        label = link.inner_text()
        box = link.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 375, f"menu entry {label!r} sticks out of the screen"
        assert box["height"] >= 24, f"menu entry {label!r} is too small to tap"
        with page.expect_navigation():
            press(page, link)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_fits(page)
