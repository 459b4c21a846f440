"""Grid cases (网格事件) as the people of 万柏林区 live them, each in a browser of their own.

Grid workers, grid leaders and residents are on a 375 px phone, always; the people at a desk (the community cadre,
the street officer, the department's handler) are on the desktop in one run of each journey and on the phone in
the other (`device`). Expected texts come from the catalogue, so the journeys read the Chinese a person reads;
people's names come from the pages themselves, and the few places of the demo (tenants/demo.py) a journey relies
on are named once, below.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import press
from tests.browser.live import LiveServer
from tests.browser.pages import (
    CJK,
    PhoneCodes,
    assert_fits,
    assert_tappable,
    box,
    go_by_menu,
    images_loaded,
    jpeg,
    open_notice,
)

pytestmark = pytest.mark.browser

TENANT = "wanbailin"
BASE = f"/t/{TENANT}/grid_cases"
MODULE_NAME = "网格事件"
# gw1's grid in 万柏林区 (tenants/demo.py), and the compound in it: 晋祠路一号院, the 1,200 households in 3 grids
GRID = "wbl-jinci-g1-1"
COMPOUND = "wbl-jinci-cp1"
COMMUNITY = "晋祠路社区"
STREET = "晋祠路街道"
WATER_DEPARTMENT = "区水务局"

T = Callable[..., str]


# --- what a person does and sees on the case pages ------------------------------------------------------------


def entry(t: T, label: str) -> str:
    """A grid-cases entry of the menu as it reads: "网格事件 · 上报事件"."""
    return f"{MODULE_NAME} · {t(label)}"


def exact(text: str) -> re.Pattern[str]:
    return re.compile(f"^\\s*{re.escape(text)}\\s*$")


def notice(t: T, msgid: str, **context: str) -> str:
    """A notice's title as the inbox shows it: the catalogue's wording with the case's values in."""
    text = t(msgid)
    for key, value in context.items():
        text = text.replace("{{ " + key + " }}", value)
    return text


def notice_pattern(t: T, msgid: str, **context: str) -> re.Pattern[str]:
    """A notice's title whose other values (a time) the journey cannot know: those match anything."""
    parts = re.split(r"(\{\{.*?\}\})", t(msgid))
    out = []
    for part in parts:
        key = part[2:-2].strip() if part.startswith("{{") else None
        out.append(re.escape(context[key]) if key in context else ".+" if key is not None else re.escape(part))
    return re.compile("^" + "".join(out) + "$")


def new_phone() -> str:
    """A resident's mobile number no other journey (or run) uses: 166 is a mobile prefix no demo account has."""
    return "166" + "".join(secrets.choice("0123456789") for _ in range(8))


def mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def staff_name(page: Page) -> str:
    """The signed-in person's name, from the footer beside the sign-out button."""
    return page.locator(".footer .logout span").inner_text().strip()


def state(page: Page) -> Any:
    return page.locator(".case-badges .badge").first


def fact(page: Page, t: T, label: str) -> Any:
    """The value beside a label in the case's facts."""
    return page.locator(".case-facts dt").filter(has_text=exact(t(label))).locator("xpath=following-sibling::dd[1]")


def step_buttons(page: Page) -> list[str]:
    return [s.strip() for s in page.locator(".case-actions details.action > summary").all_inner_texts()]


def expect_steps(page: Page, t: T, *labels: str) -> None:
    """Exactly these step buttons, in this order; none at all when no label is given."""
    if not labels:
        expect(page.locator(".case-actions")).to_have_count(0)
        return
    expect(page.locator(".case-actions details.action > summary")).to_have_count(len(labels))
    assert step_buttons(page) == [t(label) for label in labels]


def timeline(page: Page) -> list[str]:
    """The timeline's steps as they read, oldest first: "受理 吕燕丽 (网格员)"."""
    lines = []
    for item in page.locator(".timeline .events li").all():
        lines.append(" ".join(item.locator("strong, .who").all_inner_texts()).strip())
    return lines


def take_step(page: Page, t: T, label: str, *, note: str | None = None, result: str | None = None,
              photo: dict[str, Any] | None = None, reason: bool = False) -> Any:
    """Open a step's form by its button, fill it and send it; returns the step's form (for its errors)."""
    action = page.locator(".case-actions details.action").filter(has=page.locator("summary", has_text=exact(t(label))))
    expect(action).to_have_count(1)
    assert_tappable(page, action.locator("summary"), 40)
    if action.get_attribute("open") is None:
        press(page, action.locator("summary"))
    form = action.locator("form")
    expect(form).to_be_visible()
    if result is not None:
        form.get_by_label(t("What was done")).fill(result)
    if note is not None:
        form.get_by_label(t("Reason") if reason else t("Note (optional)")).fill(note)
    if photo is not None:
        form.get_by_label(t("Photos")).set_input_files(photo)
    with page.expect_navigation():
        press(page, form.get_by_role("button", name=t(label), exact=True))
    return action


def done(page: Page, t: T, label: str) -> None:
    """The step went through: the case page again, saying so."""
    expect(page.get_by_role("status")).to_have_text(t("Done: %(action)s.", action=t(label)))
    assert_fits(page)


def work_list(page: Page, t: T, view: str) -> None:
    """The person's cases through the menu, then one of their work lists."""
    go_by_menu(page, t, entry(t, "Cases"), heading=t("Cases"))
    lists = page.get_by_role("navigation", name=t("Work lists"))
    press(page, lists.get_by_role("link", name=t(view), exact=True))
    expect(lists.get_by_role("link", name=t(view), exact=True)).to_have_attribute("aria-current", "page")
    assert_fits(page)


def case_card(page: Page, number: str) -> Any:
    return page.locator(f'.case-card[data-number="{number}"]')


def open_case(page: Page, number: str) -> None:
    card = case_card(page, number)
    expect(card).to_have_count(1)
    press(page, card.get_by_role("link"))
    expect(page.get_by_role("heading", level=1)).to_have_text(number)
    assert_fits(page)


def staff(new_context: Callable[[str], Any], sign_in: Callable[..., Page], role: str, device: str) -> Page:
    """A staff member of 万柏林区 signed in on their own device, on their dashboard."""
    page = sign_in(new_context(device).new_page(), role=role, tenant=TENANT)
    page.wait_for_load_state("networkidle")  # the widgets arrive through htmx
    assert_fits(page)
    return page


@pytest.fixture
def codes(live: LiveServer) -> PhoneCodes:
    return PhoneCodes(live)


@pytest.fixture
def office(device: str) -> str:
    """Where the people at a desk work in this run; field workers and residents are on the phone in both."""
    return device


# --- the whole life of a case ---------------------------------------------------------------------------------


def test_a_residents_phone_call_goes_up_to_the_water_bureau_and_back_to_the_residents_rating(
    new_context: Callable[[str], Any], sign_in: Callable[..., Page], t: T, office: str, codes: PhoneCodes,
    live: LiveServer,
) -> None:
    resident_phone = new_phone()
    tag = secrets.token_hex(3)
    description = f"居民来电：2号楼地下室进水，水表井冒水（{tag}）"
    names: list[str] = []

    # the grid worker, on patrol with the phone, takes the resident's call and reports it with a photo
    gw = staff(new_context, sign_in, "grid_worker", "phone")
    names.append(staff_name(gw))
    go_by_menu(gw, t, entry(t, "Report a case"), heading=t("Report a case"))
    gw.get_by_label(t("Category")).select_option("water")
    gw.get_by_label(t("Where")).select_option(GRID)
    gw.get_by_label(t("Address or landmark")).fill("2号楼地下室")
    gw.get_by_label(t("What is the problem?")).fill(description)
    gw.get_by_label(t("Photos")).set_input_files(jpeg("report"))
    press(gw, gw.get_by_text(t("A resident reported it (phone or hotline)"), exact=True))
    gw.get_by_label(t("How it came in")).select_option(label=t("Resident by phone"))
    gw.get_by_label(t("Resident's name")).fill("赵阿姨")
    gw.get_by_label(t("Resident's mobile number")).fill(resident_phone)
    assert_fits(gw)
    with gw.expect_navigation():
        press(gw, gw.get_by_role("button", name=t("Report"), exact=True))
    number = gw.get_by_role("heading", level=1).inner_text().strip()
    assert re.fullmatch(r"XD-\d{8}-\d{4}", number), number
    expect(gw.get_by_role("status")).to_have_text(t("Case %(number)s reported.", number=number))
    assert_fits(gw)
    # the grid may act on what its own worker reports: accepted at once, with the grid's two steps
    expect(state(gw)).to_have_text(t("Accepted"))
    expect(fact(gw, t, "Reported")).to_contain_text(t("Resident by phone"))
    expect(fact(gw, t, "Reported")).to_contain_text(f"赵阿姨 {resident_phone}")
    expect(fact(gw, t, "Current step due")).not_to_have_class(re.compile("overdue"))
    images_loaded(gw.locator(".case-facts .photos img"))
    assert timeline(gw) == [f"{t('Reported')} {names[0]} ({t('Grid worker')})",
                            f"{t('Accept')} {names[0]} ({t('Grid worker')})"]
    expect_steps(gw, t, "Handle at this level", "Escalate")

    # it needs the community: up it goes, and the grid's buttons are gone
    take_step(gw, t, "Escalate", note="涉及地下管网，需社区协调")
    done(gw, t, "Escalate")
    expect(state(gw)).to_have_text(t("Escalated, waiting for acceptance"))
    expect(fact(gw, t, "Held by")).to_have_text(re.compile(COMMUNITY))
    expect_steps(gw, t)
    # in the grid worker's lists: reported by them, not overdue; the demo's late case is marked in the overdue list
    work_list(gw, t, "Reported by me")
    expect(case_card(gw, number).locator(".badge").first).to_have_text(t("Escalated, waiting for acceptance"))
    expect(case_card(gw, number).locator(".badge.overdue")).to_have_count(0)
    work_list(gw, t, "Overdue")
    expect(case_card(gw, number)).to_have_count(0)
    late = gw.locator(".case-card.is-overdue")
    expect(late.first).to_be_visible()
    expect(late.first.locator(".badge.overdue")).to_have_text(t("Overdue"))
    late_number = late.first.get_attribute("data-number")
    assert late_number
    # the 督办 job (every 15 minutes where RQ's scheduler runs) marks the late step and tells the level above
    live.flask("jobs", "run", "grid_cases", "supervise_overdue")

    # the community cadre is told, accepts it and sends it on to the street
    cadre = staff(new_context, sign_in, "community_cadre", office)
    names.append(staff_name(cadre))
    # first the 督办 of the grid's late case: marked on its page, in red
    open_notice(cadre, t, notice_pattern(t, "督办: case {{ number }} is overdue since {{ localtime(deadline) }}",
                                         number=late_number))
    expect(cadre.get_by_role("heading", level=1)).to_have_text(late_number)
    expect(cadre.locator(".case-badges .badge.overdue")).to_have_text(t("Overdue"))
    expect(fact(cadre, t, "Current step due")).to_have_class("overdue")
    expect(cadre.locator(".timeline .event-supervise strong").first).to_have_text(t("Overdue: supervision (督办)"))
    assert_fits(cadre)
    open_notice(cadre, t, notice(t, "Case {{ number }} waits for your acceptance", number=number))
    expect(cadre.get_by_role("heading", level=1)).to_have_text(number)
    assert_fits(cadre)
    expect_steps(cadre, t, "Accept", "Do not accept", "Send back down")
    assert timeline(cadre)[-1] == f"{t('Escalate')} {names[0]} ({t('Grid worker')})"
    expect(cadre.locator(".timeline .events li").last.locator(".note")).to_have_text("涉及地下管网，需社区协调")
    take_step(cadre, t, "Accept")
    done(cadre, t, "Accept")
    expect_steps(cadre, t, "Handle at this level", "Escalate")
    take_step(cadre, t, "Escalate", note="需街道协调区水务局")
    done(cadre, t, "Escalate")
    expect(fact(cadre, t, "Held by")).to_have_text(re.compile(STREET))
    expect_steps(cadre, t)

    # the street officer finds it waiting in their list, accepts it and dispatches it to the water bureau
    street = staff(new_context, sign_in, "street_officer", office)
    names.append(staff_name(street))
    work_list(street, t, "Waiting for my acceptance")
    expect(case_card(street, number)).to_contain_text(description)
    open_case(street, number)
    expect_steps(street, t, "Accept", "Do not accept", "Send back down")
    take_step(street, t, "Accept")
    done(street, t, "Accept")
    expect_steps(street, t, "Handle at this level", "Escalate", "Dispatch to a department")
    dispatch = street.locator("#action-dispatch")
    if dispatch.get_attribute("open") is None:
        press(street, dispatch.locator("summary"))
    # the category's own department is offered first
    expect(dispatch.get_by_label(t("Department")).locator("option:checked")).to_have_text(WATER_DEPARTMENT)
    take_step(street, t, "Dispatch to a department")
    done(street, t, "Dispatch to a department")
    expect(state(street)).to_have_text(t("Dispatched to a department"))
    expect(fact(street, t, "Held by")).to_have_text(re.compile(f"{STREET} → {WATER_DEPARTMENT}"))
    expect(fact(street, t, "To be resolved by")).to_be_visible()
    expect_steps(street, t)

    # the water bureau's handler is told, takes it on and resolves it with a photo of the work
    dept = staff(new_context, sign_in, "dept_handler", office)
    names.append(staff_name(dept))
    open_notice(dept, t, notice(t, "Case {{ number }} is dispatched to your department", number=number))
    expect(dept.get_by_role("heading", level=1)).to_have_text(number)
    expect_steps(dept, t, "Take on", "Return to the dispatcher")
    take_step(dept, t, "Take on", note="已派维修班组")
    done(dept, t, "Take on")
    expect(state(dept)).to_have_text(t("In progress"))
    expect_steps(dept, t, "Return to the dispatcher", "Ask for more time", "Mark resolved")
    result = f"更换水表井阀门，排净积水，已恢复正常（{tag}）"
    take_step(dept, t, "Mark resolved", result=result, photo=jpeg("result", color=(60, 150, 90)))
    done(dept, t, "Mark resolved")
    expect(state(dept)).to_have_text(t("Resolved, waiting for verification"))
    expect(fact(dept, t, "Result")).to_have_text(result)
    expect_steps(dept, t)
    # off the department's to-do list, still among the department's cases
    work_list(dept, t, "Dispatched to my department")
    expect(case_card(dept, number)).to_have_count(0)
    work_list(dept, t, "All in my area")
    expect(case_card(dept, number).locator(".badge").first).to_have_text(t("Resolved, waiting for verification"))

    # the grid leader goes to see it, on the phone, and confirms it with a photo from the site
    leader = staff(new_context, sign_in, "grid_leader", "phone")
    names.append(staff_name(leader))
    work_list(leader, t, "Waiting for my verification")
    open_case(leader, number)
    expect_steps(leader, t, "Confirm on site", "Not fixed: send back")
    take_step(leader, t, "Confirm on site", note="现场查看，地下室已无积水", photo=jpeg("verify", color=(150, 120, 60)))
    done(leader, t, "Confirm on site")
    expect(state(leader)).to_have_text(t("Verified, waiting to be closed"))
    images_loaded(leader.locator(".case-facts .photos img"))
    expect(leader.locator(".case-facts .photos img")).to_have_count(3)

    # the grid worker was told too; the street, where the case is held, closes it
    open_notice(gw, t, notice(t, "Case {{ number }} is resolved: please verify it on site", number=number))
    expect(state(gw)).to_have_text(t("Verified, waiting to be closed"))
    expect_steps(gw, t)
    open_notice(street, t, notice(t, "Case {{ number }} is verified: please close it", number=number))
    expect_steps(street, t, "Close the case")
    take_step(street, t, "Close the case")
    done(street, t, "Close the case")
    expect(state(street)).to_have_text(t("Closed"))
    expect_steps(street, t)
    assert [line.split(" ")[0] for line in timeline(street)] == [t(x) for x in (
        "Reported", "Accept", "Escalate", "Accept", "Escalate", "Accept", "Dispatch to a department", "Take on",
        "Mark resolved", "Confirm on site", "Close the case")]

    # the resident follows the case on the phone, by its number and the phone that reported it
    resident = new_context("phone").new_page()
    resident.goto(f"{BASE}/track")
    expect(resident.get_by_role("heading", level=1)).to_have_text(t("Follow a report"))
    assert_fits(resident)
    resident.get_by_label(t("Case number")).fill(number.lower())
    resident.get_by_label(t("Mobile number")).fill(resident_phone)
    press(resident, resident.get_by_role("button", name=t("Continue"), exact=True))
    expect(resident.get_by_role("heading", level=1)).to_have_text(t("Resident sign-in"))
    expect(resident.get_by_label(t("Mobile number"))).to_have_value(resident_phone)
    assert_fits(resident)
    press(resident, resident.get_by_role("button", name=t("Send code"), exact=True))
    expect(resident.get_by_role("heading", level=1)).to_have_text(t("Enter the code"))
    expect(resident.get_by_text(t("A code was sent to %(phone)s.", phone=mask(resident_phone)))).to_be_visible()
    assert_fits(resident)
    resident.get_by_label(t("Six-digit code")).fill(codes.code(resident))
    with resident.expect_navigation(url=re.compile(f"{BASE}/public/{number}$")):
        press(resident, resident.get_by_role("button", name=t("Verify"), exact=True))
    expect(resident.get_by_role("heading", level=1)).to_have_text(number)
    assert_fits(resident)
    public = resident.locator("main")
    expect(public.locator(".badge").first).to_have_text(t("Closed"))
    expect(public.locator(".case-description")).to_have_text(description)
    expect(public).to_contain_text(result)
    # the public steps: who acted by role, never by name; the internal notes and the site photo stay inside
    steps = [s.strip() for s in public.locator(".timeline .events li strong").all_inner_texts()]
    assert steps == [t(x) for x in ("Reported", "Accept", "Accept", "Accept", "Mark resolved", "Close the case")]
    text = public.inner_text()
    assert CJK.search(text)
    for name in names:
        assert name not in text, f"the resident's page names {name}"
    assert "涉及地下管网" not in text
    assert "现场查看" not in text
    expect(public.locator(".photos img")).to_have_count(2)
    images_loaded(public.locator(".photos img"))

    # and rates it
    rate = resident.get_by_role("region", name=t("How was it handled?"))
    rate.get_by_label(t("Satisfied"), exact=True).check()
    rate.get_by_label(t("Anything to add (optional)")).fill("修得及时，谢谢网格员")
    assert_fits(resident)
    with resident.expect_navigation():
        press(resident, rate.get_by_role("button", name=t("Send rating"), exact=True))
    expect(resident.get_by_role("status")).to_have_text(t("Thank you for your rating."))
    expect(resident.get_by_role("region", name=t("How was it handled?"))).to_have_count(0)
    expect(fact(resident, t, "Your rating")).to_have_text(t("Satisfied"))
    assert_fits(resident)
    # the notices the resident had on the way: accepted, resolved with the result, closed with the rating link
    for status in ("accepted", "resolved", "closed: please rate how it was handled"):
        open_notice(resident, t, notice(t, "Your report {{ number }} is {{ status }}", number=number,
                                        status=t(status)))
        expect(resident.get_by_role("heading", level=1)).to_have_text(number)
    # and the case among their reports
    press(resident, resident.get_by_role("link", name=f"← {t('My reports')}"))
    expect(resident.get_by_role("heading", level=1)).to_have_text(t("My reports"))
    expect(resident.locator(".case-card").filter(has_text=number).locator(".badge")).to_have_text(t("Closed"))
    assert_fits(resident)

    # the staff see the rating on the case
    street.reload()
    expect(state(street)).to_have_text(t("Closed and rated"))
    expect(fact(street, t, "Rating")).to_have_text(f"{t('Satisfied')}: 修得及时，谢谢网格员")
    assert timeline(street)[-1].startswith(f"{t('Rate')} ")


# --- a resident reports through the contact card's QR code ---------------------------------------------------


def fill_public_report(page: Page, t: T, description: str, phone: str) -> None:
    page.get_by_label(t("What kind of problem?")).select_option("sanitation")
    page.get_by_label(t("Exact spot")).fill("4号楼东侧垃圾桶旁")
    page.get_by_label(t("What is wrong?")).fill(description)
    page.get_by_label(t("Photos (optional)")).set_input_files(jpeg("public"))
    page.get_by_label(t("Your name (optional)")).fill("孙先生")
    page.get_by_label(t("Mobile number")).fill(phone)


def send_code(page: Page, t: T, codes: PhoneCodes, phone: str) -> str:
    """The form's "send code" button (htmx): the line under the number says where the code went."""
    press(page, page.get_by_role("button", name=t("Send code"), exact=True))
    expect(page.locator("#code-line").get_by_role("status")).to_have_text(
        t("A code was sent to %(phone)s.", phone=mask(phone)))
    # the swap keeps what was typed, and the field the code goes into
    expect(page.get_by_label(t("Mobile number"))).to_have_value(phone)
    assert_fits(page)
    return codes.code(page)


def test_a_resident_reports_from_the_qr_code_with_the_phone_code_and_a_wrong_code_is_refused(
    new_context: Callable[[str], Any], sign_in: Callable[..., Page], t: T, codes: PhoneCodes,
) -> None:
    tag = secrets.token_hex(3)
    gw = staff(new_context, sign_in, "grid_worker", "phone")

    # the QR code on the contact card opens the report form with the grid filled in
    resident = new_context("phone").new_page()
    resident.goto(f"{BASE}/report?grid={GRID}")
    expect(resident.get_by_role("heading", level=1)).to_have_text(t("Report a problem"))
    fixed = resident.locator(".fixed-grid")
    expect(fixed).to_contain_text(t("Your grid"))
    grid_name = fixed.locator("strong").inner_text()
    assert CJK.search(grid_name), grid_name
    expect(resident.get_by_label(t("Where is it?"))).to_have_count(0)
    assert_fits(resident)
    phone = new_phone()
    description = f"小区垃圾桶满溢两天无人清运（{tag}）"
    fill_public_report(resident, t, description, phone)
    resident.get_by_label(t("Six-digit code")).fill(send_code(resident, t, codes, phone))
    with resident.expect_navigation(url=re.compile(f"{BASE}/public/")):
        press(resident, resident.get_by_role("button", name=t("Send the report"), exact=True))
    number = resident.get_by_role("heading", level=1).inner_text().strip()
    expect(resident.get_by_role("status")).to_have_text(
        t("Thank you. Your report %(number)s is received; we tell you by SMS how it goes.", number=number))
    assert_fits(resident)
    expect(resident.locator("main .badge").first).to_have_text(t("Received"))
    expect(resident.locator(".case-description")).to_have_text(description)
    expect(fact(resident, t, "Where")).to_contain_text(grid_name)
    images_loaded(resident.locator(".photos img"))
    expect(resident.locator(".timeline .events li")).to_have_count(1)
    expect(resident.locator(".timeline .events li .who")).to_have_text(t("Resident"))
    # the code signed the resident in: their reports are a tap away
    press(resident, resident.get_by_role("link", name=f"← {t('My reports')}"))
    expect(resident.get_by_role("heading", level=1)).to_have_text(t("My reports"))
    expect(resident.locator(".case-card").filter(has_text=number)).to_have_count(1)
    assert_fits(resident)

    # the grid worker is told and finds it among the grid's new reports, from the QR code, to accept
    open_notice(gw, t, notice(t, "Case {{ number }} waits for your acceptance", number=number))
    expect(gw.get_by_role("heading", level=1)).to_have_text(number)
    expect(state(gw)).to_have_text(t("Waiting for acceptance"))
    expect(fact(gw, t, "Reported")).to_contain_text(t("Contact card QR code"))
    expect(fact(gw, t, "Where")).to_contain_text(grid_name)
    expect_steps(gw, t, "Accept", "Do not accept")
    work_list(gw, t, "New reports in my grids")
    expect(case_card(gw, number)).to_contain_text(description)

    # a second resident types a wrong code: refused, said in Chinese under the field, nothing created
    other = new_context("phone").new_page()
    other.goto(f"{BASE}/report?grid={GRID}")
    other_phone = new_phone()
    other_description = f"路边井盖松动，踩上去晃（{tag}）"
    fill_public_report(other, t, other_description, other_phone)
    right = send_code(other, t, codes, other_phone)
    other.get_by_label(t("Six-digit code")).fill(f"{(int(right) + 1) % 1_000_000:06d}")
    with other.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/report")) as answer:
        press(other, other.get_by_role("button", name=t("Send the report"), exact=True))
    assert answer.value.status == 422
    wrong = other.locator("#code-error")
    expect(wrong).to_have_text(t("The code is wrong or has expired."))
    assert CJK.search(wrong.inner_text())
    expect(other.get_by_label(t("Six-digit code"))).to_have_attribute("aria-invalid", "true")
    expect(other.get_by_label(t("What is wrong?"))).to_have_value(other_description)
    expect(other.locator(".fixed-grid strong")).to_have_text(grid_name)
    expect(other.locator(".topbar .inbox-link")).to_have_count(0)  # not signed in either
    assert_fits(other)
    go_by_menu(gw, t, entry(t, "Cases"), heading=t("Cases"))
    press(gw, gw.get_by_text(t("Search and filter"), exact=True))
    search = gw.get_by_role("search")
    field, until, button = (search.get_by_label(t("Number or words")), search.get_by_label(t("Until")),
                            search.get_by_role("button", name=t("Search"), exact=True))
    # the fields stand one under the other, the button under them all, as wide as the phone allows
    assert box(field)["y"] < box(until)["y"] < box(button)["y"]
    assert box(button)["width"] > 300
    field.fill(tag)
    press(gw, gw.get_by_role("button", name=t("Search"), exact=True))
    expect(gw.locator(".case-card")).to_have_count(1)
    expect(case_card(gw, number)).to_have_count(1)
    assert_fits(gw)

    # with the right code it goes through
    other.get_by_label(t("Six-digit code")).fill(right)
    with other.expect_navigation(url=re.compile(f"{BASE}/public/")):
        press(other, other.get_by_role("button", name=t("Send the report"), exact=True))
    expect(other.locator(".case-description")).to_have_text(other_description)
    assert other.get_by_role("heading", level=1).inner_text().strip() != number


# --- refusals a person meets ---------------------------------------------------------------------------------


def test_the_second_of_two_people_acting_on_a_case_is_told_and_a_step_without_its_reason_is_refused(
    new_context: Callable[[str], Any], sign_in: Callable[..., Page], t: T, office: str,
) -> None:
    tag = secrets.token_hex(3)
    gw = staff(new_context, sign_in, "grid_worker", "phone")
    go_by_menu(gw, t, entry(t, "Report a case"), heading=t("Report a case"))
    gw.get_by_label(t("Category")).select_option("sanitation")
    gw.get_by_label(t("Where")).select_option(GRID)
    gw.get_by_label(t("What is the problem?")).fill(f"单元门口堆放装修垃圾（{tag}）")
    with gw.expect_navigation():
        press(gw, gw.get_by_role("button", name=t("Report"), exact=True))
    number = gw.get_by_role("heading", level=1).inner_text().strip()
    case_url = gw.url
    grid_level = fact(gw, t, "Held by").inner_text().strip()

    # the grid leader has the same case open; both go to handle it, the leader first
    leader = staff(new_context, sign_in, "grid_leader", office)
    leader.goto(case_url)
    expect(leader.get_by_role("heading", level=1)).to_have_text(number)
    expect_steps(leader, t, "Handle at this level", "Escalate")
    take_step(leader, t, "Handle at this level")
    done(leader, t, "Handle at this level")
    expect(state(leader)).to_have_text(t("In progress"))

    # the grid worker's page is from before: the step is refused with the reason, in Chinese, and changes nothing
    with gw.expect_response(lambda r: r.request.method == "POST") as answer:
        action = gw.locator("#action-handle")
        press(gw, action.locator("form").get_by_role("button", name=t("Handle at this level"), exact=True))
    assert answer.value.status == 409
    refused = gw.get_by_role("alert")
    expect(refused).to_have_text(t("Someone else changed this case first; reload it and try again."))
    assert CJK.search(refused.inner_text())
    assert_fits(gw)
    expect(state(gw)).to_have_text(t("In progress"))
    gw.reload()
    handled = [line for line in timeline(gw) if line.startswith(t("Handle at this level"))]
    assert len(handled) == 1, timeline(gw)
    assert staff_name(leader) in handled[0]

    # reloaded, the grid worker escalates it; the community cadre sends it back down, first without a reason
    take_step(gw, t, "Escalate", note="装修垃圾量大，需社区联系物业清运")
    done(gw, t, "Escalate")
    cadre = staff(new_context, sign_in, "community_cadre", office)
    work_list(cadre, t, "Waiting for my acceptance")
    open_case(cadre, number)
    form = take_step(cadre, t, "Send back down")
    error = form.locator("#note-error")
    expect(error).to_have_text(t("Please say why."))
    assert CJK.search(error.inner_text())
    expect(form).to_have_attribute("open", "")
    assert_fits(cadre)
    expect(state(cadre)).to_have_text(t("Escalated, waiting for acceptance"))
    expect(fact(cadre, t, "Held by")).to_have_text(re.compile(COMMUNITY))
    # with the reason it goes back to the grid
    take_step(cadre, t, "Send back down", note="属物业管理范围，请网格督促物业清运", reason=True)
    done(cadre, t, "Send back down")
    expect(state(cadre)).to_have_text(t("Accepted"))
    expect(fact(cadre, t, "Held by")).to_have_text(grid_level)
    gw.reload()
    expect_steps(gw, t, "Handle at this level", "Escalate")
    expect(gw.locator(".timeline .events li").last.locator(".note")).to_have_text("属物业管理范围，请网格督促物业清运")


# --- quick notes, and a common problem fixed as one ----------------------------------------------------------


def report_in_compound(gw: Page, t: T, description: str) -> str:
    go_by_menu(gw, t, entry(t, "Report a case"), heading=t("Report a case"))
    gw.get_by_label(t("Category")).select_option("drainage")
    gw.get_by_label(t("Where")).select_option(COMPOUND)
    gw.get_by_label(t("What is the problem?")).fill(description)
    with gw.expect_navigation():
        press(gw, gw.get_by_role("button", name=t("Report"), exact=True))
    expect(state(gw)).to_have_text(t("Accepted"))
    return gw.get_by_role("heading", level=1).inner_text().strip()


def test_a_quick_note_becomes_a_case_and_a_common_problem_is_resolved_with_its_cases(
    new_context: Callable[[str], Any], sign_in: Callable[..., Page], t: T, office: str,
) -> None:
    tag = secrets.token_hex(3)
    gw = staff(new_context, sign_in, "grid_worker", "phone")

    # on patrol: one line and a photo
    go_by_menu(gw, t, entry(t, "Quick notes"), heading=t("Quick notes"))
    gw.get_by_label(t("Patrol"), exact=True).check()
    text = f"巡查晋祠路一号院：5号楼前下水道返水（{tag}）"
    gw.get_by_label(t("One line")).fill(text)
    gw.get_by_label(t("Photo"), exact=True).set_input_files(jpeg("note"))
    with gw.expect_navigation():
        press(gw, gw.get_by_role("button", name=t("Save note"), exact=True))
    expect(gw.get_by_role("status")).to_have_text(t("Note saved."))
    assert_fits(gw)
    note = gw.locator(".note-list li.note").filter(has_text=text)
    expect(note).to_have_count(1)
    expect(note.locator(".badge")).to_have_text(t("Patrol"))
    images_loaded(note.locator("img"))

    # it is a case after all: the note's own button, with a category (其他 unless chosen)
    expect(note.get_by_label(t("Category"))).to_have_value("other")
    note.get_by_label(t("Category")).select_option("drainage")
    assert_fits(gw)
    with gw.expect_navigation():
        press(gw, note.get_by_role("button", name=t("Report as a case"), exact=True))
    number = gw.get_by_role("heading", level=1).inner_text().strip()
    expect(gw.get_by_role("status")).to_have_text(t("Case %(number)s reported.", number=number))
    expect(state(gw)).to_have_text(t("Accepted"))
    expect(fact(gw, t, "Reported")).to_contain_text(t("Quick note"))
    expect(gw.locator(".case-description")).to_have_text(text)
    images_loaded(gw.locator(".case-facts .photos img"))
    assert_fits(gw)
    go_by_menu(gw, t, entry(t, "Quick notes"), heading=t("Quick notes"))
    note = gw.locator(".note-list li.note").filter(has_text=text)
    expect(note.get_by_role("link", name=number, exact=True)).to_be_visible()
    expect(note.get_by_role("button", name=t("Report as a case"), exact=True)).to_have_count(0)

    # three households of 晋祠路一号院 call about the drains: the third call makes them a common problem
    numbers = [report_in_compound(gw, t, f"居民来电：{n}号楼下水道堵塞返味（{tag}）") for n in (3, 5, 7)]

    cadre = staff(new_context, sign_in, "community_cadre", office)
    # the cadre looks after 晋祠路一号院 (包片): its cases are in their list
    work_list(cadre, t, "In my compounds")
    for n in numbers:
        expect(case_card(cadre, n)).to_have_count(1)
    place = case_card(cadre, numbers[0]).locator(".case-what").inner_text().split(" · ")[-1].strip()
    category = case_card(cadre, numbers[0]).locator(".case-what").inner_text().split(" · ")[0].strip()
    open_notice(cadre, t, notice(t, "{{ count }} open {{ category }} cases in {{ place }}: link them as one problem?",
                                 count="3", category=category, place=place))
    expect(cadre.get_by_role("heading", level=1)).to_have_text(t("Common problems"))
    assert_fits(cadre)
    offer = cadre.locator(".suggestions li").filter(has_text=place).filter(has_text=category)
    expect(offer).to_have_count(1)
    expect(offer).to_contain_text(t("%(n)s open cases", n=3))
    # the offer lists exactly its cases: the note's case is in the grid, not in the compound
    press(cadre, offer.locator("summary").get_by_text(t("See them"), exact=True))
    expect(offer.locator("details a")).to_have_text(sorted(numbers, reverse=True))
    assert_fits(cadre)
    link = offer.get_by_role("button", name=t("Link as one problem"), exact=True)
    assert_tappable(cadre, link)
    with cadre.expect_navigation():
        press(cadre, link)
    expect(cadre.get_by_role("status")).to_have_text(
        t("Linked: resolving the common problem resolves every case in it."))
    expect(cadre.get_by_role("heading", level=1)).to_have_text(f"{place} · {category}")
    expect(cadre.locator("main p .badge")).to_have_text(t("Being handled"))
    expect(cadre.locator(".case-list .case-card")).to_have_count(3)
    assert_fits(cadre)
    problem_url = cadre.url

    # one fix for all: the cadre resolves the problem, and with it each linked case
    result = f"疏通5号楼至7号楼主管道42米，更换破损检查井盖2个（{tag}）"
    cadre.get_by_label(t("What was done")).fill(result)
    cadre.get_by_label(t("Photos")).set_input_files(jpeg("drain", color=(90, 90, 140)))
    with cadre.expect_navigation():
        press(cadre, cadre.get_by_role("button", name=t("Resolve all %(n)s cases", n=3), exact=True))
    expect(cadre.get_by_role("status")).to_have_text(
        t("Resolved, with %(n)s cases: their reporters are told.", n=3))
    expect(cadre.locator("main p .badge")).to_have_text(t("Resolved"))
    expect(cadre.get_by_text(result)).to_be_visible()
    expect(cadre.get_by_role("button", name=re.compile(re.escape(t("Resolve all %(n)s cases", n=3))))).to_have_count(0)
    for n in numbers:
        expect(case_card(cadre, n).locator(".badge").first).to_have_text(t("Resolved, waiting for verification"))
    assert_fits(cadre)
    go_by_menu(cadre, t, entry(t, "Common problems"), heading=t("Common problems"))
    expect(cadre.locator(".suggestions li").filter(has_text=place).filter(has_text=category)).to_have_count(0)
    linked = cadre.locator(".problems li").filter(has=cadre.locator(f'a[href="{urlsplit(problem_url).path}"]'))
    expect(linked.locator(".badge")).to_have_text(t("Resolved"))

    # each case says so, and waits for the grid worker's visit
    work_list(gw, t, "Waiting for my verification")
    for n in numbers:
        expect(case_card(gw, n)).to_have_count(1)
    expect(case_card(gw, number)).to_have_count(0)
    open_case(gw, numbers[0])
    expect(state(gw)).to_have_text(t("Resolved, waiting for verification"))
    expect(fact(gw, t, "Result")).to_have_text(result)
    expect(fact(gw, t, "Common problem")).to_have_text(t("Linked with others"))
    assert timeline(gw)[-1].startswith(t("Resolved with its common problem"))
    expect_steps(gw, t, "Confirm on site", "Not fixed: send back")


# --- the contact card of a grid -------------------------------------------------------------------------------


def decode_qr(locator: Any) -> list[str]:
    """What a phone's camera reads from the QR code on the screen."""
    shot = Image.open(io.BytesIO(locator.screenshot()))
    return [r.text for r in zxingcpp.read_barcodes(shot) if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_a_grids_contact_card_prints_its_people_and_a_qr_code_that_opens_the_grids_report_form(
    new_context: Callable[[str], Any], sign_in: Callable[..., Page], t: T, office: str, live_url: str,
) -> None:
    cadre = staff(new_context, sign_in, "community_cadre", office)
    go_by_menu(cadre, t, entry(t, "Contact cards"), heading=t("Contact cards"))
    press(cadre, cadre.get_by_text(t("Filter grids"), exact=True))
    cadre.get_by_label(t("Grid name or code")).fill(GRID)
    press(cadre, cadre.get_by_role("button", name=t("Show"), exact=True))
    line = cadre.locator(f'.card-line[data-grid="{GRID}"]')
    expect(line).to_have_count(1)
    expect(cadre.locator(".card-line")).to_have_count(1)
    assert_fits(cadre)
    grid_name = line.locator(".card-line-head strong").inner_text().strip()
    # the list shows the grid's people with their phones masked
    listed = {}
    for role in ("Grid leader", "Grid worker"):
        person = line.locator(".card-line-staff > span").filter(has=cadre.get_by_text(t(role), exact=True))
        expect(person).to_have_count(1)
        name, masked = person.inner_text().replace(t(role), "", 1).split()
        listed[role] = (name, masked)

    for name in ("Edit", "Print view", "PDF"):
        assert_tappable(cadre, line.get_by_role("link", name=t(name), exact=True))
    with cadre.expect_navigation():
        press(cadre, line.get_by_role("link", name=t("Print view"), exact=True))
    card = cadre.locator(f'.contact-card[data-grid="{GRID}"]')
    expect(card.locator(".cc-grid")).to_have_text(grid_name)
    expect(card.locator(".cc-title")).to_have_text(t("Community contact card"))
    assert_fits(cadre)
    # on the card, in full: that is what the card is for
    for role, (name, masked) in listed.items():
        row = card.locator(".cc-row").filter(has=cadre.locator("dt", has_text=exact(t(role))))
        expect(row.locator(".cc-name")).to_have_text(name)
        phone = row.locator(".cc-phone").inner_text().strip()
        assert mask(phone) == masked, (phone, masked)
        expect(row.locator(".cc-phone")).to_have_attribute("href", f"tel:{phone}")
    # the test server's address is no address a resident's phone reaches: the page says so before printing
    expect(cadre.get_by_role("alert")).to_have_text(t(
        "The QR codes point to %(host)s, which residents' phones cannot reach. Open this page at the district's "
        "public address before printing.", host="127.0.0.1"))
    link = f"{live_url}{BASE}/report?grid={GRID}"
    expect(card.locator(".cc-url")).to_have_text(link)
    qr = card.locator("img.cc-qr")
    images_loaded(qr)
    assert decode_qr(qr) == [link]
    pdf = cadre.context.request.get(cadre.get_by_role("button", name=t("Download PDF")).get_attribute("href"))
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    # a resident scans it: the grid's report form, with the grid fixed
    resident = new_context("phone").new_page()
    resident.goto(link)
    expect(resident.get_by_role("heading", level=1)).to_have_text(t("Report a problem"))
    expect(resident.locator(".fixed-grid strong")).to_have_text(grid_name)
    expect(resident.locator('input[type="hidden"][name="location_code"]')).to_have_value(GRID)
    expect(resident.locator('input[type="hidden"][name="source"]')).to_have_value("qr")
    expect(resident.get_by_label(t("Where is it?"))).to_have_count(0)
    assert_fits(resident)
