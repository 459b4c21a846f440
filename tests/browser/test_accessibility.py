"""Pages older residents can read and hit, and forms whose errors are heard (#15), measured in Chromium.

On the pages a resident uses (the landing page, the district's welcome, the report, track and rating pages,
both sign-ins) at 375 px: the body text is at least 18 px and no text under 14 px; every control a finger must
hit is at least 44 × 44 px and touches no other (links inside a sentence excepted, as WCAG's target rule does);
field borders and the focus ring stand out at 3:1 against the page. With the 长辈版 switch on: body text at
least 20 px, targets at least 60 px, and text at 7:1 (axe-core's enhanced contrast rule). A refused report
puts the focus on an error summary whose links lead to the fields, each of which says it is invalid.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import press
from tests.browser.pages import assert_fits

pytestmark = pytest.mark.browser

T = "/t/lusong"
RESIDENT_PAGES = ["/", f"{T}/", f"{T}/grid_cases/report", f"{T}/grid_cases/track", f"{T}/citizen", f"{T}/login",
                  f"{T}/cadre_evaluation/public"]

# every control on the page: its box (a radio's or a checkbox's is its label's), whether it is a link inside a
# sentence, the sizes of the text, and the page's body text
MEASURE = r"""
() => {
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"
      && !el.closest("[hidden], .visually-hidden, .skip-link");
  };
  const name = (el) => (el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " "
    + (el.innerText || el.value || el.getAttribute("aria-label") || el.name || "").trim().slice(0, 30));
  const inSentence = (a) => {
    const block = a.parentElement.closest("p, li, td, dd, small, span, label, div");
    if (!block) { return false; }
    let rest = block.innerText || "";
    for (const other of block.querySelectorAll("a, button")) { rest = rest.replace(other.innerText || "", ""); }
    return /[\p{L}\p{N}]/u.test(rest);
  };
  const targets = [];
  const controls = "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]";
  for (const el of document.querySelectorAll(controls)) {
    const closed = el.closest("details:not([open])");
    if (!shown(el) || el.disabled || (closed && el !== closed.querySelector("summary"))) { continue; }
    const box = el.matches("input[type=radio], input[type=checkbox]") ? (el.closest("label") || el) : el;
    const r = box.getBoundingClientRect();
    targets.push({name: name(el), left: r.left, top: r.top + scrollY, right: r.right, bottom: r.bottom + scrollY,
                  width: r.width, height: r.height, inline: el.tagName === "A" && inSentence(el)});
  }
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!node.textContent.trim() || !parent || !shown(parent) || parent.closest("svg")) { continue; }
    texts.push({text: node.textContent.trim().slice(0, 30), size: parseFloat(getComputedStyle(parent).fontSize)});
  }
  return {targets, texts, body: parseFloat(getComputedStyle(document.body).fontSize)};
}
"""


# axe's 7:1 rule, once the checker's own run on the page (tests/browser/axe.py) has finished
ENHANCED_CONTRAST = """
async () => {
  for (;;) {
    try {
      const result = await axe.run(document, {runOnly: ["color-contrast-enhanced"]});
      return result.violations.flatMap(v => v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary));
    } catch (e) {
      if (!String(e).includes("already running")) { throw e; }
      await new Promise(done => setTimeout(done, 50));
    }
  }
}
"""


def luminance(color: str) -> float:
    parts = [float(x) for x in re.findall(r"[\d.]+", color)[:3]]
    channels = [c / 255 for c in parts]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def too_close(a: dict[str, Any], b: dict[str, Any], gap: float) -> bool:
    inside = (a["left"] >= b["left"] and a["right"] <= b["right"] and a["top"] >= b["top"]
              and a["bottom"] <= b["bottom"]) or (b["left"] >= a["left"] and b["right"] <= a["right"]
                                                  and b["top"] >= a["top"] and b["bottom"] <= a["bottom"])
    dx = max(a["left"] - b["right"], b["left"] - a["right"])
    dy = max(a["top"] - b["bottom"], b["top"] - a["bottom"])
    return not inside and max(dx, dy) < gap


def problems_on(page: Page, body_px: float, target_px: float, text_px: float) -> list[str]:
    found = page.evaluate(MEASURE)
    problems = []
    if found["body"] < body_px:
        problems.append(f"body text {found['body']} px < {body_px}")
    problems += [f"text {x['text']!r} at {x['size']} px < {text_px}" for x in found["texts"] if x["size"] < text_px]
    targets = [x for x in found["targets"] if not x["inline"]]
    problems += [f"target {x['name']!r} is {x['width']:.0f}×{x['height']:.0f} px < {target_px}"
                 for x in targets if min(x["width"], x["height"]) < target_px - 0.5]
    problems += [f"targets {a['name']!r} and {b['name']!r} touch" for i, a in enumerate(targets)
                 for b in targets[i + 1:] if too_close(a, b, 2)]
    return problems


def rating_page(page: Page) -> str:
    """The demo campaign's rating form (千人评科长), as a citizen reaches it from the list of campaigns."""
    page.goto(f"{T}/cadre_evaluation/public")
    href = page.locator("main a[href*='/cadre_evaluation/c/']").first.get_attribute("href") or ""
    assert re.fullmatch(rf"{T}/cadre_evaluation/c/\d+", href), href
    return href


def test_resident_pages_have_text_older_eyes_read_and_targets_a_thumb_hits(phone_page: Page) -> None:
    problems = []
    for path in [*RESIDENT_PAGES, rating_page(phone_page)]:
        phone_page.goto(path)
        assert_fits(phone_page)
        problems += [f"{path}: {p}" for p in problems_on(phone_page, body_px=18, target_px=44, text_px=14)]
    assert not problems, "\n".join(problems)


def test_borders_and_the_focus_ring_stand_out_from_the_page(phone_page: Page) -> None:
    phone_page.goto(f"{T}/grid_cases/report")
    description = phone_page.locator("#f-description")
    border = description.evaluate("e => getComputedStyle(e).borderTopColor")
    background = phone_page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert contrast(border, background) >= 3, (border, background)
    phone_page.keyboard.press("Tab")  # the keyboard's first stop is the skip link
    expect(phone_page.locator(".skip-link")).to_be_focused()
    description.focus()
    ring = description.evaluate("e => getComputedStyle(e).boxShadow + ' ' + getComputedStyle(e).outlineColor")
    colors = re.findall(r"rgba?\([^)]*\)", ring)
    opaque = [c for c in colors if not c.startswith("rgba") or float(re.findall(r"[\d.]+", c)[3]) == 1]
    assert opaque, ring
    assert max(contrast(c, background) for c in opaque) >= 3, ring


def test_the_elder_switch_makes_text_larger_and_stays_on(phone_page: Page, t: Callable[..., str]) -> None:
    page = phone_page
    page.goto(f"{T}/grid_cases/report")
    switch = page.locator(".elder-switch button")
    expect(switch).to_have_attribute("aria-pressed", "false")
    press(page, switch)
    expect(page.locator("html")).to_have_class("elder")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Report a problem"))  # the same page, larger
    for path in [f"{T}/grid_cases/report", f"{T}/grid_cases/track", f"{T}/citizen", f"{T}/login", rating_page(page),
                 "/"]:
        page.goto(path)
        expect(page.locator("html")).to_have_class("elder")  # the cookie keeps it, with no account
        assert_fits(page)
        problems = problems_on(page, body_px=20, target_px=60, text_px=16)
        contrast_failures = page.evaluate(ENHANCED_CONTRAST)
        assert not problems + contrast_failures, f"{path}:\n" + "\n".join(problems + contrast_failures)
    switch = page.locator(".elder-switch button")
    expect(switch).to_have_attribute("aria-pressed", "true")
    press(page, switch)
    expect(page.locator("html")).not_to_have_class("elder")


def test_a_refused_report_is_heard_and_leads_to_its_fields(phone_page: Page, t: Callable[..., str]) -> None:
    page = phone_page
    page.goto(f"{T}/grid_cases/report")
    press(page, page.get_by_role("button", name=t("Send the report")))
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    assert page.title().startswith(t("Error: %(page)s", page="").strip()), page.title()
    links = summary.get_by_role("link")
    assert links.count() >= 3  # the place, the kind of problem, the description, the phone
    invalid = page.locator("[aria-invalid=true]")
    assert invalid.count() >= links.count()
    for i in range(invalid.count()):
        field = invalid.nth(i)
        described = field.get_attribute("aria-describedby") or ""
        messages = [page.locator(f"[id='{ref}']").inner_text() for ref in described.split()]
        assert any(m.strip() for m in messages), f"{field} says it is invalid but not why"
    description = page.locator("#f-description")
    link = summary.locator("a[href='#f-description']")
    expect(link).to_have_count(1)
    press(page, link)
    expect(description).to_be_focused()
    assert_fits(page)


def test_the_code_button_keeps_the_keyboard_where_it_was(phone_page: Page, t: Callable[..., str]) -> None:
    """htmx swaps the code line; the focus stays on the button, or (counting down, disabled) moves to the code."""
    page = phone_page
    page.goto(f"{T}/grid_cases/report")
    page.get_by_label(t("Mobile number")).fill("13987650077")
    send = page.get_by_role("button", name=t("Send code"))
    send.focus()
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text(t("A code was sent to %(phone)s.", phone="139****0077"))
    # htmx settles the swapped line a moment after it shows it; then the focus is back on a control
    page.wait_for_function("() => document.activeElement && document.activeElement !== document.body")
    focused = page.evaluate("() => document.activeElement.id || document.activeElement.textContent.trim()")
    assert focused in ("f-code", t("Send code")), focused


def test_the_menu_closes_on_escape_and_the_skip_link_leads_to_the_content(phone_page: Page,
                                                                          t: Callable[..., str]) -> None:
    page = phone_page
    page.goto(f"{T}/grid_cases/track")
    menu = page.locator("#main-menu")
    menu.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(menu.locator("summary")).to_be_focused()
    page.locator(".skip-link").focus()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_the_dashboard_reflows_at_double_zoom_and_double_text(new_context: Callable[[str], Any],
                                                               sign_in: Callable[..., Any]) -> None:
    """200 % zoom on a 375 px phone is a 187 px wide page; 200 % text doubles the root size. Nothing scrolls
    sideways, and each widget stays inside the screen."""
    page = new_context("phone").new_page()
    sign_in(page, "grid_worker")
    for width, text in ((187, None), (375, "225%")):
        page.set_viewport_size({"width": width, "height": 700})
        if text:
            page.add_style_tag(content=f':root[data-theme="light"] {{ --pico-font-size: {text} !important; }}')
        assert_fits(page)
        widths = page.evaluate("() => [...document.querySelectorAll('.widgets > *')].map(w => "
                               "[w.getBoundingClientRect().right, w.scrollWidth - w.clientWidth])")
        assert widths, "no widget on the grid worker's dashboard"
        assert all(right <= width + 0.5 and overflow <= 1 for right, overflow in widths), (width, text, widths)


def test_the_inbox_link_says_how_many_are_unread(page: Page, sign_in: Callable[..., Any],
                                                 t: Callable[..., str]) -> None:
    sign_in(page, "district_admin")
    link = page.locator(".topbar .inbox-link")
    badge = link.locator("mark.badge")
    expect(badge).to_have_count(1)  # the demo leaves the district's admin fourteen unread notices
    count = badge.locator("[aria-hidden]").inner_text()
    expect(link).to_have_accessible_name(re.compile(re.escape(t("Inbox")) + r"\s*" + re.escape(
        t("%(n)s unread", n=int(count)))))
