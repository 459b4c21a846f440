"""A district starts on its own, as a new user meets it (issue #9's "done when"), on a desktop and on a 375 px
phone: the operator creates it with its first admin; the admin sets a password from the link, imports the org
tree and 357 staff, switches grid cases on and finds the default categories, gives one person a temporary
password; that person signs in and must change it; a resident reports through the public form, and an Open311
client through the standard POST, into the new district."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tenants.demo import DEMO_PASSWORD
from tests.browser.conftest import press
from tests.browser.live import LiveServer
from tests.browser.pages import PhoneCodes, assert_fits, go_by_menu
from tests.browser.test_grid_cases import fill_public_report, send_code

pytestmark = pytest.mark.browser

STAFF = 357
# a mobile prefix per device, so that the two runs' districts never share a number
PREFIX = {"desktop": "1370", "phone": "1350"}


@pytest.fixture
def codes(live: LiveServer) -> PhoneCodes:
    return PhoneCodes(live)


def org_csv(slug: str) -> str:
    rows = ["类型,编码,名称,上级编码",
            f"街道,{slug}-s1,新城街道,{slug}",
            f"社区,{slug}-c1,新城第一社区,{slug}-s1",
            f"社区,{slug}-c2,新城第二社区,{slug}-s1",
            *(f"网格,{slug}-g{i},新城第{(i + 1) // 2 + 0}社区{i}网格,{slug}-c{1 if i <= 2 else 2}"
              for i in range(1, 5)),
            f"部门,{slug}-water,区水务局,{slug}"]
    return "\n".join(rows) + "\n"


def staff_csv(slug: str, device: str) -> str:
    rows = ["姓名,手机号,角色,所属单位编码"]
    rows += [f"网格员{i:03d},{PREFIX[device]}{i:07d},网格员,{slug}-g{i % 4 + 1}" for i in range(STAFF)]
    return "\n".join(rows) + "\n"


def upload(page: Page, t: Callable[..., str], kind: str, path: Path, count: int) -> None:
    card = page.locator(f"#import-{kind}")
    card.locator("input[type=file]").set_input_files(str(path))
    press(page, card.get_by_role("button", name=t("Check the file"), exact=True))
    confirm = page.locator(".import-actions form").first.get_by_role("button")
    expect(confirm).to_contain_text(str(count))  # "导入 357 行": every row was valid
    press(page, confirm)
    done = page.locator(".import-done [role=status]")
    expect(done).to_contain_text(path.name)
    expect(done).to_contain_text(str(count))
    assert_fits(page)


def post_open311(base: str, slug: str, token: str, grid: str) -> tuple[int, Any]:
    body = urllib.parse.urlencode({"jurisdiction_id": slug, "service_code": "streetlight", "address_id": grid,
                                   "description": "小区东门路灯不亮，晚上看不见路", "api_key": token}).encode()
    request = urllib.request.Request(f"{base}/open311/v2/requests.json", data=body, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own server
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_new_district_starts_on_its_own_from_creation_to_a_residents_report(
        page: Page, new_context: Callable[[str], Any], device: str, t: Callable[..., str], live: LiveServer,
        codes: PhoneCodes, tmp_path: Path) -> None:
    slug, name = f"start-{device}", f"新城区{'甲' if device == 'desktop' else '乙'}"
    admin_phone = f"{PREFIX[device]}9999999"

    # the operator creates the district with its first admin
    page.goto("/platform/login")
    page.get_by_label(t("Username")).fill("operator")
    page.get_by_label(t("Password"), exact=True).fill(DEMO_PASSWORD)
    press(page, page.get_by_role("button", name=t("Sign in"), exact=True))
    page.get_by_label(t("Slug (used in addresses)")).fill(slug)
    page.get_by_label(t("Chinese name")).fill(name)
    page.get_by_label(t("First administrator's full name")).fill("陈主任")
    page.get_by_label(t("First administrator's mobile number")).fill(admin_phone)
    press(page, page.get_by_role("button", name=t("Create"), exact=True))
    link = page.locator("#password-link").inner_text().strip()

    # the admin sets a password from the link
    admin = new_context(device).new_page()
    admin.goto(link)
    admin.get_by_label(t("New password"), exact=True).fill("xincheng-2026")
    admin.get_by_label(t("New password again"), exact=True).fill("xincheng-2026")
    press(admin, admin.get_by_role("button", name=t("Set password"), exact=True))
    expect(admin.get_by_role("heading", level=1)).to_have_text(t("Dashboard"))

    # ... imports the org tree and 357 staff
    org, people = tmp_path / "组织架构.csv", tmp_path / "人员.csv"
    org.write_text(org_csv(slug), encoding="utf-8")
    people.write_text(staff_csv(slug, device), encoding="utf-8")
    go_by_menu(admin, t, t("Import"), heading=t("Import the organisation tree and the staff"))
    upload(admin, t, "org", org, 8)
    upload(admin, t, "staff", people, STAFF)

    # ... switches grid cases on and finds the default categories
    go_by_menu(admin, t, t("Modules"))
    card = admin.locator("#module-grid_cases")
    press(admin, card.get_by_role("button", name=t("Switch on"), exact=True))
    expect(card).to_have_attribute("data-enabled", "on")
    admin.goto(f"/t/{slug}/grid_cases/categories")
    expect(admin.get_by_role("heading", level=1)).to_have_text(t("Case categories"))
    expect(admin.locator("table tbody tr")).to_have_count(11)
    expect(admin.locator("table tbody")).to_contain_text("路灯")
    assert_fits(admin)

    # ... finds one of the 357 by name and gives them a temporary password
    go_by_menu(admin, t, t("Staff"))
    admin.locator('form[role="search"] input[name="q"]').fill("网格员007")
    with admin.expect_navigation(url=lambda url: "q=" in url):
        press(admin, admin.get_by_role("button", name=t("Search"), exact=True))
    press(admin, admin.get_by_role("link", name="网格员007", exact=True))
    press(admin, admin.get_by_role("link", name=t("Password"), exact=True))
    admin.get_by_label(t("Temporary password"), exact=True).fill("temp-pass-77")
    admin.get_by_label(t("Temporary password again"), exact=True).fill("temp-pass-77")
    press(admin, admin.get_by_role("button", name=t("Set temporary password"), exact=True))
    expect(admin.get_by_role("status").first).to_be_visible()

    # that person signs in with it and must choose their own first
    worker = new_context(device).new_page()
    worker.goto(f"/t/{slug}/login")
    worker.get_by_label(t("Username or phone number")).fill(f"{PREFIX[device]}0000007")
    worker.get_by_label(t("Password"), exact=True).fill("temp-pass-77")
    press(worker, worker.get_by_role("button", name=t("Sign in"), exact=True))
    expect(worker.get_by_role("heading", level=1)).to_have_text(t("Change password"))
    worker.goto(f"/t/{slug}/grid_cases/")  # nothing else opens before the change
    expect(worker.get_by_role("heading", level=1)).to_have_text(t("Change password"))
    worker.get_by_label(t("Current password"), exact=True).fill("temp-pass-77")
    worker.get_by_label(t("New password"), exact=True).fill("my-own-pass-2026")
    worker.get_by_label(t("New password again"), exact=True).fill("my-own-pass-2026")
    press(worker, worker.get_by_role("button", name=t("Change password"), exact=True))
    expect(worker.get_by_role("heading", level=1)).to_have_text(t("Dashboard"))
    assert_fits(worker)

    # a resident reports through the public form of a grid of the new district
    resident = new_context(device).new_page()
    resident.goto(f"/t/{slug}/grid_cases/report?grid={slug}-g1")
    expect(resident.get_by_role("heading", level=1)).to_have_text(t("Report a problem"))
    phone = f"{PREFIX[device]}8888888"
    fill_public_report(resident, t, "小区门口垃圾桶满溢两天无人清运", phone)
    resident.get_by_label(t("Six-digit code")).fill(send_code(resident, t, codes, phone))
    press(resident, resident.get_by_role("button", name=t("Send the report"), exact=True))
    resident.wait_for_url(f"**/t/{slug}/grid_cases/public/**")
    number = resident.get_by_role("heading", level=1).inner_text().strip()
    assert number.startswith("XD-")
    assert_fits(resident)

    # ... and an Open311 client through the standard POST, with a token the admin made
    admin.goto(f"/t/{slug}/me/tokens")
    admin.get_by_label(t("What is it for?")).fill("Open311 客户端")
    press(admin, admin.get_by_role("button", name=t("Create token"), exact=True))
    token = admin.locator("#new-token").inner_text().strip()
    status, answer = post_open311(live.url, slug, token, f"{slug}-g2")
    assert status == 200, answer
    open311_number = answer[0]["service_request_id"]
    assert open311_number.startswith("XD-")
    assert open311_number != number

    # both reach the new district's work list
    admin.goto(f"/t/{slug}/grid_cases/")
    expect(admin.locator(f'[data-number="{number}"]')).to_have_count(1)
    expect(admin.locator(f'[data-number="{open311_number}"]')).to_have_count(1)
    assert_fits(admin)
