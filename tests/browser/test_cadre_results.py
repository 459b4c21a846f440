"""The organiser runs a cadre evaluation campaign through its steps in Chromium, on a desktop and on a 375 px
phone: creates it, adds a target in a business area, publishes the target list (评议对象公示), opens, closes and
publishes the results; a stranger then sees the target list and the published results (评后公示), and the
organiser's results and follow-up pages fit the screen."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import press
from tests.browser.pages import assert_fits
from tests.plugin import ARTIFACTS

pytestmark = pytest.mark.browser


def test_the_organiser_opens_closes_and_publishes_and_the_public_sees_the_results(
    page: Page, sign_in: Callable[..., Page], t: Callable[..., str], device: str, new_context: Callable[[str], Page],
) -> None:
    sign_in(page)
    page.goto("/t/lusong/cadre_evaluation/")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Cadre evaluation"))
    name = f"浏览器评议活动{device}"
    form = page.locator("form", has=page.get_by_role("button", name=t("Create the campaign")))
    form.get_by_label(t("Name")).fill(name)
    form.get_by_label(t("Evaluation period from")).fill("2025-07-01")
    form.get_by_label(t("Evaluation period to")).fill("2026-06-30")
    press(page, form.get_by_role("button", name=t("Create the campaign")))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    campaign_url = page.url

    add = page.locator("form", has=page.get_by_role("button", name=t("Add the target")))
    # by label: each form's fields have ids of their own (the settings form above has a name field too)
    add.get_by_label(t("Name"), exact=True).fill(f"刘{device}科长")
    add.get_by_label(t("Department"), exact=True).fill("区行政审批服务局")
    add.get_by_label(t("Section"), exact=True).fill("企业开办科")
    add.locator('select[name="area"]').select_option("开办企业")
    press(page, add.get_by_role("button", name=t("Add the target")))
    expect(page.locator("table")).to_contain_text(f"刘{device}科长")
    assert_fits(page)

    for label, state in ((t("Publish the target list"), t("Target list published")),
                         (t("Open the rating"), t("Open for rating")), (t("Close the rating"), t("Rating closed")),
                         (t("Publish the results"), t("Results published"))):
        press(page, page.get_by_role("button", name=label, exact=True))
        expect(page.get_by_role("status")).to_contain_text(state)
    assert_fits(page)

    press(page, page.get_by_role("link", name=t("Results"), exact=True))
    expect(page.get_by_role("heading", level=1)).to_contain_text(t("Results"))
    expect(page.locator("main")).to_contain_text(t("Ranking by business area"))
    expect(page.locator("main")).to_contain_text("开办企业")
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"cadre-results-{device}.png"), full_page=True)
    assert_fits(page)
    press(page, page.get_by_role("link", name=t("Follow-up"), exact=True))
    expect(page.get_by_role("heading", level=1)).to_contain_text(t("Follow-up"))
    page.screenshot(path=str(shots / f"cadre-followup-{device}.png"), full_page=True)
    assert_fits(page)

    campaign_id = re.search(r"/campaigns/(\d+)", campaign_url).group(1)  # type: ignore[union-attr]
    stranger = new_context(device).new_page()
    stranger.goto(f"/t/lusong/cadre_evaluation/c/{campaign_id}")
    press(stranger, stranger.get_by_role("link", name=t("Results (评后公示)"), exact=True))
    expect(stranger.get_by_role("heading", level=1)).to_have_text(t("Results (评后公示)"))
    expect(stranger.locator("main")).to_contain_text(f"刘{device}科长")
    expect(stranger.locator("main")).to_contain_text("开办企业")
    stranger.screenshot(path=str(shots / f"cadre-public-results-{device}.png"), full_page=True)
    assert_fits(stranger)
    stranger.goto(f"/t/lusong/cadre_evaluation/c/{campaign_id}/targets")
    expect(stranger.get_by_role("heading", level=1)).to_have_text(t("Targets of the rating (评议对象公示)"))
    expect(stranger.locator("main")).to_contain_text("企业开办科")
    assert_fits(stranger)
