"""The platform operator creates a district with its first admin, who sets a password from the link; the operator
suspends the district and brings it back. In chromium, on a desktop and on a 375 px phone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tenants.demo import DEMO_PASSWORD
from tests.browser.conftest import press
from tests.browser.pages import CJK, assert_fits

pytestmark = pytest.mark.browser

PHONES = {"desktop": "13912345601", "phone": "13912345602"}


def test_operator_provisions_a_district_whose_admin_sets_a_password_then_suspends_it(
        page: Page, new_context: Callable[[str], object], device: str, t: Callable[..., str]) -> None:
    slug, name = f"prov-{device}", f"迎泽区{'甲' if device == 'desktop' else '乙'}"
    page.goto("/platform/login")
    page.get_by_label(t("Username")).fill("operator")
    page.get_by_label(t("Password"), exact=True).fill(DEMO_PASSWORD)
    press(page, page.get_by_role("button", name=t("Sign in"), exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Districts"))

    page.get_by_label(t("Slug (used in addresses)")).fill(slug)
    page.get_by_label(t("Chinese name")).fill(name)
    page.get_by_label(t("First administrator's full name")).fill("王主任")
    page.get_by_label(t("First administrator's mobile number")).fill(PHONES[device])
    press(page, page.get_by_role("button", name=t("Create"), exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("District %(name)s created.", name=name))
    assert_fits(page)
    link = page.locator("#password-link").inner_text().strip()
    assert f"/t/{slug}/password/" in link

    admin = new_context(device).new_page()  # type: ignore[attr-defined]
    admin.goto(link)
    expect(admin.get_by_role("heading", level=1)).to_have_text(t("Set your password"))
    assert f"/t/{slug}/password/set" in admin.url  # the token left the address bar
    assert_fits(admin)
    admin.get_by_label(t("New password"), exact=True).fill("yingze-2026")
    admin.get_by_label(t("New password again"), exact=True).fill("yingze-2027")
    press(admin, admin.get_by_role("button", name=t("Set password"), exact=True))
    error = admin.locator(".field-error")
    expect(error).to_have_text(t("The two passwords differ."))
    assert CJK.search(error.inner_text())
    # the field's label now carries its error too
    admin.locator("#f-password").fill("yingze-2026")
    admin.locator("#f-password2").fill("yingze-2026")
    press(admin, admin.get_by_role("button", name=t("Set password"), exact=True))
    expect(admin.get_by_role("heading", level=1)).to_have_text(t("Dashboard"))

    page.goto("/platform/")
    press(page, page.locator(f"#tenant-{slug}").get_by_role("button", name=t("Suspend"), exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Suspend %(name)s?", name=name))
    press(page, page.get_by_role("button", name=t("Suspend"), exact=True))
    expect(page.locator(f"#tenant-{slug}")).to_contain_text(t("Suspended"))

    admin.reload()
    expect(admin.get_by_role("heading", level=1)).to_have_text(t("%(name)s is suspended", name=name))
    assert_fits(admin)

    press(page, page.locator(f"#tenant-{slug}").get_by_role("button", name=t("Reactivate"), exact=True))
    expect(page.locator(f"#tenant-{slug}")).to_contain_text(t("Active"))
    admin.reload()
    expect(admin.get_by_role("heading", level=1)).to_have_text(t("Dashboard"))
