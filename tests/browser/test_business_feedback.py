"""营商环境监督 as 芦淞区's people live it: a supervisor on a 375 px phone submits, the office assigns, the market
regulation bureau answers, the supervisor is not satisfied and the item goes back to the bureau, which never
reads the supervisor's name. Accounts of the demo (blueprints/business_feedback/demo.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from tenants.demo import DEMO_PASSWORD
from tests.browser.conftest import press
from tests.plugin import ARTIFACTS

pytestmark = pytest.mark.browser

TENANT = "lusong"
BASE = f"/t/{TENANT}/business_feedback"
DEPARTMENT = "区市场监管局"


def sign_in(page: Any, t: Callable[..., str], username: str) -> Any:
    page.goto(f"/t/{TENANT}/login")
    page.get_by_label(t("Username or phone number")).fill(username)
    page.get_by_label(t("Password"), exact=True).fill(DEMO_PASSWORD)
    press(page, page.get_by_role("button", name=t("Sign in"), exact=True))
    page.wait_for_url(f"**/t/{TENANT}/")
    return page


def fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


def test_a_supervisor_is_not_satisfied_and_the_item_goes_back_to_the_department(new_context, t):
    phone = sign_in(new_context("phone").new_page(), t, "bf-sup3")
    phone.goto(f"{BASE}/new")
    fits(phone)
    phone.get_by_label(t("Kind")).select_option("problem")
    phone.get_by_label(t("Business area")).select_option(label="纳税")
    phone.get_by_label(t("What happened, what is suggested")).fill("电子税务局申报时常卡顿，企业多次重填。")
    press(phone, phone.get_by_role("button", name=t("Submit"), exact=True))
    expect(phone.get_by_text(t("Waiting for triage"))).to_be_visible()
    fits(phone)
    item_url = phone.url
    submitted_by = phone.locator("dt", has_text=t("Submitted by")).locator("xpath=following-sibling::dd[1]")
    supervisor_name = submitted_by.inner_text().split(" · ")[0].strip()

    office = sign_in(new_context("desktop").new_page(), t, "yingshang")
    office.goto(item_url)
    office.get_by_label(DEPARTMENT).check()
    press(office, office.get_by_role("button", name=t("Accept and assign to departments")))
    expect(office.get_by_text(t("At the departments"), exact=True).first).to_be_visible()

    department = sign_in(new_context("phone").new_page(), t, "dept-market-handler")
    department.goto(item_url)
    fits(department)
    department.get_by_label(t("Measures taken")).fill("已联系税务部门扩容申报系统。")
    press(department, department.get_by_role("button", name=t("Answer with the measures taken")))
    expect(department.get_by_text(t("Answered"), exact=True).first).to_be_visible()

    phone.goto(item_url)
    phone.get_by_label(t("Not satisfied")).check()
    phone.get_by_label(t("Reason")).fill("高峰期仍然卡顿。")
    press(phone, phone.get_by_role("button", name=t("Rate the answer")))
    expect(phone.get_by_text(t("Sent back once"))).to_be_visible()
    fits(phone)

    department.goto(item_url)
    expect(department.get_by_role("button", name=t("Answer with the measures taken"))).to_be_visible()
    body = department.locator("main").inner_text()
    assert "高峰期仍然卡顿" in body  # the reason reaches the department
    assert supervisor_name
    assert supervisor_name not in body  # the name does not


def test_the_office_reads_the_statistics_on_a_phone(new_context, t):
    office = sign_in(new_context("phone").new_page(), t, "yingshang")
    office.goto(f"{BASE}/stats")
    expect(office.get_by_role("heading", name=t("Feedback statistics"))).to_be_visible()
    expect(office.locator("#chart-months svg")).to_be_visible()
    expect(office.locator("#departments").get_by_text(DEPARTMENT)).to_be_visible()
    fits(office)
    office.screenshot(path=str(ARTIFACTS / "business_feedback-stats-375.png"), full_page=True)
    with office.expect_download() as download:
        office.get_by_role("link", name=t("Download as Excel (one sheet per table)")).click()
    assert download.value.suggested_filename.endswith(".xlsx")


def test_a_cadre_logs_an_enterprise_visit_on_a_phone(new_context, t):
    cadre = sign_in(new_context("phone").new_page(), t, "bf-cadre")
    cadre.goto(f"{BASE}/visits")
    expect(cadre.get_by_text(t("A visit is due")).first).to_be_visible()  # the demo's visit was 100 days ago
    fits(cadre)
    press(cadre, cadre.get_by_role("button", name=t("Log a visit")).first)
    cadre.wait_for_url("**/visits/new")
    expect(cadre.get_by_label(t("Who went"))).to_be_visible()
    fits(cadre)
    cadre.get_by_label(t("Who went")).fill("周助企、区人社局李科长")
    cadre.get_by_label(t("Problem or request %(n)s", n=1)).fill("急需数控操作工二十名。")
    cadre.locator("#f-problem_0_area").select_option(label="政务服务")
    cadre.get_by_label(t("Outcome")).fill("已在区人才市场发布招聘信息。")
    cadre.get_by_label(t("Workers recruited")).fill("20")
    cadre.screenshot(path=str(ARTIFACTS / "business_feedback-visit-375.png"), full_page=True)
    press(cadre, cadre.get_by_role("button", name=t("Log the visit")))
    visit = cadre.locator("article.visit").first
    expect(visit).to_contain_text("周助企、区人社局李科长")
    expect(visit).to_contain_text(t("Waiting for triage"))
    fits(cadre)
    cadre.screenshot(path=str(ARTIFACTS / "business_feedback-enterprise-375.png"), full_page=True)
    number = visit.get_by_role("link").first.inner_text()

    office = sign_in(new_context("desktop").new_page(), t, "yingshang")
    office.goto(f"{BASE}/?state=submitted")
    expect(office.get_by_text(number)).to_be_visible()  # routed like any other feedback


def test_the_office_appoints_a_batch_of_supervisors_from_a_file_on_a_phone(new_context, t):
    """The roster's link opens the kernel's import door: a file with a wrong line is refused naming it, the
    corrected file is previewed, confirmed, and its people are on the roster."""
    office = sign_in(new_context("phone").new_page(), t, "yingshang")
    office.goto(f"{BASE}/supervisors")
    press(office, office.get_by_role("link", name=t("Appoint a batch from a CSV or XLSX file")))
    expect(office.get_by_role("heading", level=1)).to_have_text(t("Import: %(kind)s",
                                                                  kind=t("Supervisors (a batch)")))
    fits(office)
    header = "姓名,手机号,类别,来源,批次\n"
    bad = header + "导入甲,13955550001,体验官,企业家,第九批\n导入乙,13955550002,观察员,学生,第九批\n"
    office.get_by_label(t("File"), exact=True).set_input_files(
        {"name": "第九批.csv", "mimeType": "text/csv", "buffer": bad.encode()})
    press(office, office.get_by_role("button", name=t("Check the file")))
    expect(office.locator("ol.import-errors li")).to_have_count(1)
    expect(office.locator("ol.import-errors li")).to_contain_text("第 3 行")
    fits(office)
    good = header + "导入甲,13955550001,体验官,企业家,第九批\n导入乙,13955550002,市场体验员,学生,第九批\n"
    office.get_by_label(t("File"), exact=True).set_input_files(
        {"name": "第九批.csv", "mimeType": "text/csv", "buffer": good.encode()})
    press(office, office.get_by_role("button", name=t("Check the file")))
    press(office, office.get_by_role("button", name=t("Import %(n)s rows", n=2)))
    expect(office.get_by_role("status")).to_contain_text(t("%(n)s rows imported from %(file)s.", n=2,
                                                           file="第九批.csv"))
    shots = ARTIFACTS / "screens"
    shots.mkdir(parents=True, exist_ok=True)
    office.screenshot(path=str(shots / "supervisors-import-phone.png"), full_page=True)
    office.goto(f"{BASE}/supervisors")
    expect(office.get_by_role("link", name="导入甲")).to_be_visible()
    expect(office.get_by_role("link", name="导入乙")).to_be_visible()


def test_a_late_answer_reaches_挂牌督办_and_the_department_answers_it_on_a_phone(new_context, t):
    """The demo's electricity item is twelve working days late: the office's overdue list on a phone names it at
    挂牌督办; the item's timeline shows the level with its document number; the housing bureau answers it late on
    its phone, and it leaves the overdue list."""
    office = sign_in(new_context("phone").new_page(), t, "yingshang")
    office.goto(f"{BASE}/overdue")
    fits(office)
    entry = office.locator("main li", has_text=t("Listed supervision (挂牌督办)"))
    expect(entry).to_have_count(1)
    number = entry.get_by_role("link").inner_text()
    press(office, entry.get_by_role("link"))
    expect(office.get_by_role("heading", level=1)).to_contain_text(number)
    fits(office)
    timeline = office.locator("ol, ul", has_text=t("Listed supervision (挂牌督办)")).last.inner_text()
    # twelve working days late at the first run of the job: straight to the third level, with its document number
    # of the district's series
    assert re.search(r"挂牌督办 营商督办〔\d{4}〕\d+号", timeline), timeline
    item_url = office.url

    bureau = sign_in(new_context("phone").new_page(), t, "dept-housing-handler")
    bureau.goto(item_url)
    fits(bureau)
    bureau.get_by_label(t("Measures taken")).fill("已协调供电公司，三个工作日内完成接电。")
    press(bureau, bureau.get_by_role("button", name=t("Answer with the measures taken")))
    expect(bureau.get_by_text(t("Answered"), exact=True).first).to_be_visible()

    office.goto(f"{BASE}/overdue")
    expect(office.get_by_role("link", name=number)).to_have_count(0)
