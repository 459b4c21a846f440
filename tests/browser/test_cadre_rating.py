"""千人评科长 in Chromium, on 芦淞区's demo campaign: a citizen on a 375 px phone verifies by phone code and rates
one section chief (the page's proof of work runs in the phone's browser before the ballot goes); the organiser
makes a seat's QR code, a rater at that seat opens it on a phone, rates, and the code is spent: scanned again
it is refused. Every page the raters see fits the phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import press
from tests.browser.pages import PhoneCodes, assert_fits

pytestmark = pytest.mark.browser

TENANT = "lusong"
BASE = f"/t/{TENANT}/cadre_evaluation"
CITIZEN = "13987650011"
SEAT_RATER = "13987650012"


def rate_first_target(page: Any, level: str = "满意") -> None:
    """Choose `level` on every dimension of the form's first section chief."""
    first = page.locator("fieldset.target").first
    dimensions = first.locator("fieldset")
    assert dimensions.count() == 5
    for i in range(dimensions.count()):
        press(page, dimensions.nth(i).get_by_label(level, exact=True))


def verify_phone(page: Any, t: Callable[..., str], codes: PhoneCodes, phone: str) -> None:
    page.get_by_label(t("Mobile number")).fill(phone)
    press(page, page.get_by_role("button", name=t("Send code")))
    page.get_by_label(t("Six-digit code")).fill(codes.code(page))


def test_a_citizen_verifies_by_phone_code_and_rates_on_a_phone(new_context, t, live) -> None:
    phone = new_context("phone").new_page()
    phone.goto(f"{BASE}/public")
    press(phone, phone.get_by_role("link", name=re.compile("千人评科长")).first)
    expect(phone.get_by_role("heading", level=2, name=t("Rate the people you know"))).to_be_visible()
    assert_fits(phone)
    form = phone.locator("form[data-pow-challenge]")
    expect(form).to_have_count(1)
    rate_first_target(phone)
    phone.locator("fieldset.target").first.get_by_role("textbox").fill("办事效率高，窗口服务热情。")
    verify_phone(phone, t, PhoneCodes(live), CITIZEN)
    # the browser's proof of work: done in the page, and in about a second at most on this machine
    expect(form).to_have_attribute("data-pow-done", "1", timeout=20_000)
    spent_ms = int(form.get_attribute("data-pow-ms") or "0")
    print(f"\nproof of work in Chromium at 375 px: {spent_ms} ms")
    press(phone, phone.get_by_role("button", name=t("Submit my ballot")))
    expect(phone.get_by_role("heading", level=1)).to_have_text(t("Thank you: your ballot is received."))
    receipt = phone.locator("strong.receipt").inner_text().strip()
    assert re.fullmatch(r"[0-9A-F]{16}", receipt)
    assert_fits(phone)
    # the receipt is waiting for its batch, and says nothing else
    phone.goto(f"{BASE}/public")
    press(phone, phone.get_by_role("link", name=re.compile("千人评科长")).first)
    press(phone, phone.get_by_role("link", name=t("Check a receipt")))
    phone.get_by_label(t("Receipt code")).fill(receipt)
    press(phone, phone.get_by_role("button", name=t("Check"), exact=True))
    expect(phone.locator("main")).to_contain_text("将随下一批计入")
    assert CITIZEN[-4:] not in phone.content()


def test_a_seats_qr_code_is_scanned_rated_from_and_spent(new_context, t, sign_in, live) -> None:
    organiser = sign_in(new_context("desktop").new_page())
    organiser.goto(f"{BASE}/")
    press(organiser, organiser.locator("main").get_by_role("link", name=re.compile("千人评科长")).first)
    press(organiser, organiser.get_by_role("link", name=t("Rating channels")))
    expect(organiser.get_by_role("heading", level=1)).to_have_text(t("Rating channels"))
    organiser.get_by_label(t("How many seats")).fill("2")
    press(organiser, organiser.get_by_role("button", name=t("Make and print the seat codes")))
    cards = organiser.locator("section.seat-card")
    expect(cards).to_have_count(2)
    qr = cards.first.locator("img.seat-qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    seat_url = cards.first.locator("a[data-seat-link]").get_attribute("href")
    assert seat_url
    assert re.search(r"/seat/[a-z0-9]{20}$", seat_url)

    # what the phone's camera opens from the QR code
    rater = new_context("phone").new_page()
    rater.goto(seat_url)
    expect(rater.get_by_text(t("On-site rating (会议现场评)"))).to_be_visible()
    assert_fits(rater)
    rate_first_target(rater, "基本满意")
    verify_phone(rater, t, PhoneCodes(live), SEAT_RATER)
    press(rater, rater.get_by_role("button", name=t("Submit my ballot")))
    expect(rater.get_by_role("heading", level=1)).to_have_text(t("Thank you: your ballot is received."))
    assert_fits(rater)

    # scanned again, by anyone: the code is spent
    again = new_context("phone").new_page()
    again.goto(seat_url)
    expect(again.locator("[data-refused]")).to_have_text(
        t("This seat code has already been used: each seat rates once."))
    expect(again.locator("fieldset.target")).to_have_count(0)
    assert_fits(again)
    organiser.goto(f"{BASE}/")
    press(organiser, organiser.locator("main").get_by_role("link", name=re.compile("千人评科长")).first)
    press(organiser, organiser.get_by_role("link", name=t("Rating channels")))
    expect(organiser.locator("main")).to_contain_text("已使用 1/2 个")
