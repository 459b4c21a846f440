"""The district admin looks after a person on the staff pages, on a desktop and on a 375 px phone: finds them by
role, grants a role on a unit found by typing its name (the choices follow the typing), removes it after being
asked, deactivates and reactivates the account."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import press
from tests.browser.pages import assert_fits, go_by_menu
from tests.plugin import ARTIFACTS

pytestmark = pytest.mark.browser


def test_the_admin_grants_a_role_on_a_unit_found_by_name_removes_it_and_deactivates(
    page: Page, sign_in: Callable[..., Page], t: Callable[..., str], device: str,
) -> None:
    sign_in(page)
    go_by_menu(page, t, t("Staff"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Staff"))
    page.locator('form[role="search"] select[name="role"]').select_option(label=t("Grid worker"))
    with page.expect_navigation(url=re.compile(r"role=grid_worker")):
        press(page, page.get_by_role("button", name=t("Search"), exact=True))
    first = page.locator("table tbody tr a").first
    name = first.inner_text()
    assert_fits(page)
    press(page, first)
    expect(page.get_by_role("heading", level=1)).to_have_text(name)

    grant_form = page.locator("form", has=page.get_by_role("button", name=t("Grant"), exact=True))
    grant_form.locator('select[name="role"]').select_option(label=t("Grid leader"))
    grant_form.get_by_label(t("Unit"), exact=True).fill("001网格")
    choices = grant_form.locator("#unit-choices input[type=radio]")
    expect(choices).to_have_count(1)  # typed, not submitted: the choices followed the typing
    expect(choices).to_be_checked()
    shots = ARTIFACTS / "screens"  # a picture for people to look at
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"staff-picker-{device}.png"), full_page=True)
    assert_fits(page)
    press(page, grant_form.get_by_role("button", name=t("Grant"), exact=True))
    expect(page.get_by_role("status")).to_contain_text(t("Role granted."))
    leader = page.locator("ul.grants li", has_text=re.compile(f"{t('Grid leader')} · .*001网格"))
    expect(leader).to_have_count(1)

    # the button says whose role it removes (its visible word first, as the label-in-name rule asks)
    press(page, leader.get_by_role("button", name=re.compile(f"^{re.escape(t('Remove'))}.*{re.escape(name)}")))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Remove role"))
    press(page, page.get_by_role("button", name=t("Remove role"), exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(leader).to_have_count(0)

    press(page, page.get_by_role("button", name=t("Deactivate"), exact=True))
    expect(page.get_by_role("heading", level=1)).to_contain_text(t("Deactivated"))
    assert_fits(page)
    press(page, page.get_by_role("button", name=t("Reactivate"), exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
