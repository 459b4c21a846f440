"""Elderly visits on a phone: the grid worker finds a resident overdue, logs the visit with a need that goes to the
grid as a case, raises a fall; the community cadre takes the emergency on, records 120 and closes it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import press
from tests.browser.live import LiveServer
from tests.browser.pages import PhoneCodes, assert_fits, assert_tappable
from tests.plugin import ARTIFACTS

T = Callable[..., str]
TENANT = "wanbailin"
BASE = f"/t/{TENANT}/elderly_visits"


def test_a_worker_logs_a_visit_and_raises_a_fall_the_cadre_answers_it(
    new_context: Callable[[str], Any], sign_in: Callable[..., Page], t: T,
) -> None:
    tag = secrets.token_hex(3)
    gw = sign_in(new_context("phone").new_page(), "grid_worker", TENANT)
    gw.goto(f"{BASE}/?due=overdue")
    expect(gw.get_by_role("heading", level=1)).to_have_text(t("Elderly visits"))
    assert_fits(gw)
    row = gw.locator(".ev-person").filter(has_text="王秀兰")
    expect(row).to_contain_text(re.compile(t("Overdue since %(day)s", day=r"\d{4}-\d{2}-\d{2}")))
    button = row.get_by_role("button", name=t("Log a visit to %(name)s", name="王秀兰"))
    assert_tappable(gw, button, 44)
    press(gw, button)
    expect(gw.get_by_role("heading", level=1)).to_contain_text(t("Log a visit"))
    assert_fits(gw)
    press(gw, gw.get_by_role("group", name=t("Mood")).get_by_label(t("Poor")))
    press(gw, gw.get_by_text(t("Needs and risks found"), exact=True))
    press(gw, gw.get_by_role("group", name=t("Needs")).get_by_label(t("Repairs at home")))
    gw.get_by_label(t("About the need")).fill(f"厨房水龙头漏水（{tag}）")
    press(gw, gw.get_by_label(t("The grid must act: open a grid case")))
    gw.get_by_label(t("Notes")).fill("老人心情不好，多陪她聊了一会儿")
    with gw.expect_navigation():
        press(gw, gw.get_by_role("button", name=t("Save the visit"), exact=True))
    expect(gw.get_by_role("status").first).to_contain_text(t("Visit logged."))
    expect(gw.locator(".timeline").first).to_contain_text("老人心情不好")
    expect(gw.locator("main")).to_contain_text(re.compile(r"XD-\d{8}-\d{4}"))
    expect(gw.locator("main")).to_contain_text("高血压")  # the assigned worker reads the health notes
    assert_fits(gw)

    # a fall: the worker raises it from the resident's page
    press(gw, gw.get_by_role("button", name=t("Raise an emergency"), exact=True))
    press(gw, gw.get_by_label(t("A fall")))
    gw.get_by_label(t("Details")).fill(f"老人在卫生间滑倒（{tag}）")
    with gw.expect_navigation():
        press(gw, gw.get_by_role("button", name=t("Raise the emergency"), exact=True))
    expect(gw.get_by_role("heading", level=1)).to_contain_text(t("A fall"))
    assert_fits(gw)

    # the community cadre sees it at the top of the list and answers it
    cadre = sign_in(new_context("phone").new_page(), "community_cadre", TENANT)
    cadre.goto(f"{BASE}/emergencies")
    link = cadre.get_by_role("link").filter(has_text="王秀兰").first
    expect(link).to_contain_text(t("Raised"))
    press(cadre, link)
    expect(cadre.locator("main")).to_contain_text(tag)
    with cadre.expect_navigation():
        press(cadre, cadre.get_by_role("button", name=t("I am taking it on"), exact=True))
    press(cadre, cadre.get_by_role("group", name=t("Record an action")).get_by_label(t("Called 120")))
    with cadre.expect_navigation():
        press(cadre, cadre.get_by_role("button", name=t("Record"), exact=True))
    expect(cadre.locator(".timeline")).to_contain_text(t("Called 120"))
    with cadre.expect_navigation():
        press(cadre, cadre.get_by_role("button", name=t("Close the emergency"), exact=True))
    expect(cadre.locator("main")).to_contain_text(t("Say how it ended."))  # an outcome is needed
    cadre.get_by_label(t("How it ended")).fill("已送医，家属陪护")
    with cadre.expect_navigation():
        press(cadre, cadre.get_by_role("button", name=t("Close the emergency"), exact=True))
    expect(cadre.locator("main")).to_contain_text("已送医，家属陪护")
    assert_fits(cadre)
    # pictures for people to look at (test-artifacts/screens/)
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    cadre.screenshot(path=str(shots / "elderly-emergency-phone.png"), full_page=True)
    gw.goto(f"{BASE}/?due=all")
    gw.screenshot(path=str(shots / "elderly-list-phone.png"), full_page=True)


def test_a_visit_logged_without_a_connection_waits_on_the_phone_and_is_kept_once_when_sent(
    new_context: Callable[[str], Any], sign_in: Callable[..., Page], t: T,
) -> None:
    tag = secrets.token_hex(3)
    context = new_context("phone")
    gw = sign_in(context.new_page(), "grid_worker", TENANT)
    gw.goto(f"{BASE}/?due=all")
    press(gw, gw.get_by_role("button", name=t("Log a visit to %(name)s", name="赵桂芳")))
    expect(gw.get_by_role("heading", level=1)).to_contain_text(t("Log a visit"))
    outbox = gw.locator("[data-offline-outbox]")
    expect(outbox.get_by_role("status")).to_have_text(t("No visit waits on this phone to be sent."))
    # the key is made on the phone (a UUID), not the one the server wrote into the page
    key = gw.locator("input[name=client_key]").input_value()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", key), key

    context.set_offline(True)
    press(gw, gw.get_by_role("group", name=t("Mood")).get_by_label(t("Fair")))
    gw.get_by_label(t("Notes")).fill(f"地下室没有信号，离线记录（{tag}）")
    press(gw, gw.get_by_role("button", name=t("Save the visit"), exact=True))
    expect(gw.locator("[data-offline-kept]")).to_be_visible()
    expect(outbox.get_by_role("status")).to_have_text(t("%(n)s visit(s) wait on this phone to be sent", n=1))
    expect(outbox.locator("[data-offline-item]")).to_have_count(1)
    expect(outbox.locator("[data-offline-item]")).to_contain_text("赵桂芳")
    assert gw.locator("input[name=client_key]").input_value() != key  # the next visit gets a key of its own
    assert_fits(gw)
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    gw.screenshot(path=str(shots / "elderly-visit-offline-phone.png"), full_page=True)

    # nothing reached the server yet: the cadre, online, does not see the visit
    cadre = sign_in(new_context("phone").new_page(), "community_cadre", TENANT)
    cadre.goto(f"{BASE}/?due=all&q=赵桂芳")
    press(cadre, cadre.locator(".ev-person").filter(has_text="赵桂芳").get_by_role("link").first)
    expect(cadre.locator("main")).not_to_contain_text(tag)
    person_url = cadre.url

    # the connection returns: the phone sends the visit by itself and the list empties
    context.set_offline(False)
    expect(outbox.get_by_role("status")).to_have_text(t("No visit waits on this phone to be sent."))
    expect(outbox.locator("[data-offline-item]")).to_have_count(0)
    cadre.goto(person_url)
    expect(cadre.locator(".timeline").first.get_by_text(tag)).to_have_count(1)

    # the same visit sent again (a phone whose answer was lost on the way back) is kept once
    gw.evaluate("""([key, action, tag, owner]) => idbKeyval.set(key, {key: key, action: action, owner: owner,
        fields: [["client_key", key], ["kind", "home"], ["health", "good"], ["mood", "fair"],
                 ["notes", "again " + tag]],
        label: "赵桂芳", savedAt: new Date().toISOString(), state: "waiting", message: ""},
        idbKeyval.createStore("wgt-offline", "outbox"))""",
                [key, gw.url, tag, outbox.get_attribute("data-owner")])
    gw.reload()  # a page that opens online sends what waits
    expect(outbox.get_by_role("status")).to_have_text(t("No visit waits on this phone to be sent."))
    cadre.goto(person_url)
    expect(cadre.locator(".timeline").first.get_by_text(tag)).to_have_count(1)
    expect(cadre.locator("main")).not_to_contain_text("again " + tag)


def test_the_cadre_reads_the_dashboard_and_a_neighbour_reports_a_fall_on_a_phone(
    new_context: Callable[[str], Any], sign_in: Callable[..., Page], t: T, live: LiveServer,
) -> None:
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    cadre = sign_in(new_context("phone").new_page(), "community_cadre", TENANT)
    cadre.goto(f"{BASE}/dashboard")
    expect(cadre.get_by_role("heading", level=1)).to_have_text(t("Elderly visits dashboard"))
    expect(cadre.get_by_role("heading", name=re.compile(t("Overdue")))).to_be_visible()
    expect(cadre.locator(".ev-total")).to_contain_text(re.compile(r"\d+"))
    expect(cadre.locator("svg").first).to_be_visible()
    assert_fits(cadre)
    cadre.screenshot(path=str(shots / "elderly-dashboard-phone.png"), full_page=True)
    with cadre.expect_download() as download:
        press(cadre, cadre.get_by_role("button", name=t("Download XLSX")))
    assert download.value.suggested_filename.endswith(".xlsx")
    cadre.goto(f"{BASE}/import")
    expect(cadre.get_by_role("heading", level=1)).to_have_text(t("Import elderly residents"))
    assert_fits(cadre)

    # a neighbour, without an account, from the grid's report page (the contact card's QR code)
    neighbour = new_context("phone").new_page()
    neighbour.goto(f"/t/{TENANT}/grid_cases/report?grid=wbl-gongyuan-g1")
    press(neighbour, neighbour.get_by_role("link", name=t("Report an emergency for an elderly neighbour")))
    expect(neighbour.get_by_role("heading", level=1)).to_have_text(t("Report an emergency for an elderly neighbour"))
    expect(neighbour.get_by_role("button", name=t("Life in danger? Call 120 first"))).to_have_attribute(
        "href", "tel:120")
    press(neighbour, neighbour.get_by_label(t("A fall")))
    neighbour.get_by_label(t("The neighbour's name")).fill("陈建国")
    # the neighbour proves the phone with the kernel's code (the embedded default shows it on the page)
    neighbour.get_by_label(t("Mobile number")).fill("13912345678")
    press(neighbour, neighbour.get_by_role("button", name=t("Send code"), exact=True))
    expect(neighbour.locator("#code-line").get_by_role("status")).to_have_text(
        t("A code was sent to %(phone)s.", phone="139****5678"))
    neighbour.get_by_label(t("Six-digit code")).fill(PhoneCodes(live).code(neighbour))
    assert_fits(neighbour)
    neighbour.screenshot(path=str(shots / "elderly-neighbour-phone.png"), full_page=True)
    with neighbour.expect_navigation():
        press(neighbour, neighbour.get_by_role("button", name=t("Send the emergency")))
    expect(neighbour.get_by_role("status").first).to_contain_text(
        t("Thank you. The grid workers and the community are told now and will go to your neighbour."))
