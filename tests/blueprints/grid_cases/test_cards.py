"""Contact cards (便民服务连心卡): what a card says, who may edit it, bad input, the PDF read back and the QR code
decoded from the rendered page."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import pypdf
import pypdfium2
import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from blueprints.grid_cases.models import ContactCard
from blueprints.grid_cases.schemas import card_phone
from blueprints.grid_cases.services import cards as card_services
from saas import db
from saas.audit import AuditEntry
from saas.db import statements
from saas.qr import unreachable_host
from tenants import services as tenant_services
from tenants.models import OrgUnit, Tenant
from tests.plugin import bearer, text_of

GOOD = {"police_name": "王建国", "police_phone": "139 1234 5678", "doctor_name": "李淑芬",
        "doctor_phone": "0351-6012345", "hotline": "(0351) 654 3210", "note": "每周三上午社区医生坐诊"}


@dataclass
class Tree:
    tenant: Any
    admin: Any
    cadre: Any  # 晋祠路社区
    other_cadre: Any  # 公园路社区
    leader: Any
    worker: Any
    grid: OrgUnit
    community: OrgUnit

    def unit(self, factory: Any, code: str) -> OrgUnit:
        with factory.as_tenant(self.tenant) as s:
            return tenant_services.org_unit_by_code(s, code)


def build(factory: Any, tenant: Any, mark: str, key: str, phone: str) -> Tree:
    """A street with two communities; the first has two grids with a leader and two workers on grid 1."""
    factory.unit(tenant, "street", f"{key}-s1", name=f"{mark}晋祠路街道")
    factory.unit(tenant, "community", f"{key}-c1", f"{key}-s1", name=f"{mark}晋祠路社区")
    factory.unit(tenant, "community", f"{key}-c2", f"{key}-s1", name=f"{mark}公园路社区")
    grid = factory.unit(tenant, "grid", f"{key}-g1", f"{key}-c1", name=f"{mark}一号院网格")
    factory.unit(tenant, "grid", f"{key}-g2", f"{key}-c1", name=f"{mark}二号院网格")
    factory.unit(tenant, "grid", f"{key}-g3", f"{key}-c2", name=f"{mark}公园网格")
    admin = factory.user(tenant, "district_admin", name=f"{mark}区管理员")
    cadre = factory.user(tenant, "community_cadre", f"{key}-c1", name=f"{mark}社区干部")
    other = factory.user(tenant, "community_cadre", f"{key}-c2", name=f"{mark}邻社区干部")
    leader = factory.user(tenant, "grid_leader", f"{key}-g1", name=f"{mark}张网格长", phone=f"{phone}0001")
    worker = factory.user(tenant, "grid_worker", f"{key}-g1", name=f"{mark}赵网格员", phone=f"{phone}0002")
    factory.user(tenant, "grid_worker", f"{key}-g1", name=f"{mark}钱网格员", phone=f"{phone}0003")
    factory.user(tenant, "grid_worker", f"{key}-g3", name=f"{mark}孙网格员", phone=f"{phone}0004")
    with factory.as_tenant(tenant) as s:
        community = tenant_services.org_unit_by_code(s, f"{key}-c1")
    return Tree(tenant, admin, cadre, other, leader, worker, grid, community)


@pytest.fixture
def a(factory: Any, tenant_a: Any) -> Tree:
    return build(factory, tenant_a, "甲", "a", "1381234")


@pytest.fixture
def b(factory: Any, tenant_b: Any) -> Tree:
    return build(factory, tenant_b, "乙", "b", "1397654")


def page(tree: Tree, path: str = "") -> str:
    return f"/t/{tree.tenant.slug}/grid_cases/cards{path}"


def api(tree: Tree, grid_id: Any) -> str:
    return f"/api/v1/t/{tree.tenant.slug}/grid_cases/cards/{grid_id}"


def saved(factory: Any, tree: Tree, grid_id: int | None = None) -> ContactCard | None:
    with factory.as_tenant(tree.tenant) as s:
        return s.scalars(sa.select(ContactCard).where(ContactCard.grid_id == (grid_id or tree.grid.id))).first()


def audits(factory: Any, tree: Tree) -> list[AuditEntry]:
    with factory.as_tenant(tree.tenant) as s:
        return list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "grid_cases.card.update")))


def save(login_as: Any, tree: Tree, who: Any = None, **fields: str) -> Any:
    return login_as(who or tree.admin).post(page(tree, f"/{tree.grid.id}"), data={**GOOD, **fields})


def report_url(tree: Tree, code: str | None = None) -> str:
    return f"http://localhost/t/{tree.tenant.slug}/grid_cases/report?grid={code or tree.grid.code}"


# --- the phone rule ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "stored"), [
    ("13812345678", "13812345678"), ("138 1234 5678", "13812345678"), ("+86 138-1234-5678", "13812345678"),
    ("0351-1234567", "0351-1234567"), ("03511234567", "0351-1234567"), ("(0351) 123 4567", "0351-1234567"),
    ("010-12345678", "010-12345678"), ("+86 10 1234 5678", "010-12345678"), ("0731-28881234", "0731-28881234"),
])
def test_a_card_takes_mobiles_and_fixed_lines_with_their_area_code(typed, stored):
    assert card_phone(typed) == stored


@pytest.mark.parametrize("typed", ["1234567", "12345", "110", "0351-12", "03511234567890", "abc", "1381234567",
                                   "+1 415 555 0100", "0351-1234567转8001", "1" * 40])
def test_a_card_refuses_what_cannot_be_dialled_as_printed(typed):
    assert card_phone(typed) is None


def test_a_hotline_may_be_a_short_service_number():
    assert card_phone("12345", short=True) == "12345"
    assert card_phone("0351-1234567", short=True) == "0351-1234567"
    assert card_phone("110", short=True) is None  # an emergency number is not a community's hotline
    assert card_phone("99999", short=True) is None


def test_an_address_residents_cannot_reach_is_named():
    assert unreachable_host("http://localhost/t/a/grid_cases/report?grid=g") == "localhost"
    assert unreachable_host("http://10.0.0.5:8000/t/a/grid_cases/report?grid=g") == "10.0.0.5"
    assert unreachable_host("http://wgt-web/t/a/grid_cases/report?grid=g") == "wgt-web"
    assert unreachable_host("https://lusong.wgt.example.cn/t/a/grid_cases/report?grid=g") is None


# --- what a card says ----------------------------------------------------------------------------------


def test_the_card_shows_the_grids_people_and_the_communitys_contacts(a, login_as):
    assert save(login_as, a).status_code == 302
    html = login_as(a.admin).get(page(a, f"/{a.grid.id}/print")).get_data(as_text=True)
    text = text_of(html)
    for expected in ("甲一号院网格", "甲晋祠路社区", "甲晋祠路街道", "甲张网格长 13812340001", "甲赵网格员 13812340002",
                     "甲钱网格员 13812340003", "王建国 13912345678", "李淑芬 0351-6012345", "0351-6543210",
                     "每周三上午社区医生坐诊", report_url(a)):
        assert expected in text, expected
    # the leader comes first, and only the grid's own staff are on it (not the worker of another grid)
    assert text.index("甲张网格长") < text.index("甲赵网格员")
    assert "甲孙网格员" not in text
    assert "@page { size: 105mm 148mm" in html


def test_the_list_groups_grids_by_community_and_masks_phones(a, login_as):
    save(login_as, a)
    response = login_as(a.admin).get(page(a))
    assert response.status_code == 200
    text = text_of(response.get_data(as_text=True).split('id="card-groups"')[1])  # after the filter's choices
    assert text.index("甲晋祠路社区") < text.index("甲一号院网格") < text.index("甲二号院网格") \
        < text.index("甲公园路社区") < text.index("甲公园网格")
    assert "138****0001" in text
    assert "13812340001" not in text
    assert "13912345678" not in text  # the police officer's number is on the card, not on the list


def test_the_list_filters_by_community_words_and_unfinished_cards(a, login_as):
    save(login_as, a)
    client = login_as(a.admin)
    text = text_of(client.get(page(a), query_string={"community": "a-c2"}).get_data(as_text=True))
    assert "甲公园网格" in text
    assert "甲一号院网格" not in text
    text = text_of(client.get(page(a), query_string={"q": "二号"}).get_data(as_text=True))
    assert "甲二号院网格" in text
    assert "甲一号院网格" not in text
    text = text_of(client.get(page(a), query_string={"todo": "1"}).get_data(as_text=True))
    assert "甲二号院网格" in text
    assert "甲一号院网格" not in text
    response = client.get(page(a), query_string={"community": "no-such"})
    assert response.status_code == 422
    assert 'class="field-error' in response.get_data(as_text=True)


def test_the_list_pages_on_in_the_trees_order(a, factory, login_as, monkeypatch):
    monkeypatch.setattr(card_services, "PAGE_SIZE", 2)
    client = login_as(a.admin)
    first = client.get(page(a)).get_data(as_text=True)
    assert "甲一号院网格" in first
    assert "甲二号院网格" in first
    assert "甲公园网格" not in first
    assert "after=" in first
    more = client.get(page(a), query_string={"after": str(a.unit(factory, "a-g2").id)}, headers={"HX-Request": "true"})
    assert more.status_code == 200
    body = more.get_data(as_text=True)
    assert "甲公园网格" in body
    assert "甲一号院网格" not in body
    assert "<html" not in body
    assert "after=" not in body


def test_list_statements_do_not_grow_with_the_grids(a, factory, login_as):
    client = login_as(a.admin)

    def count() -> int:
        assert client.get(page(a)).status_code == 200
        with statements() as seen:
            assert client.get(page(a)).status_code == 200
        return len(seen)

    few = count()
    with factory.as_tenant(a.tenant) as s:
        community = tenant_services.org_unit_by_code(s, "a-c2")
        for i in range(30):
            grid = tenant_services.new_org_unit(kind="grid", code=f"extra-{i}", name=f"加网格{i}",
                                                parent_id=community.id, parent_path=community.path)
            s.add(grid)
        s.commit()
    for i in range(6):
        factory.user(a.tenant, "grid_worker", f"extra-{i}", name=f"加网格员{i}", phone=f"1370000{i:04d}")
    assert count() == few


# --- editing -------------------------------------------------------------------------------------------


def test_saving_stores_normalized_numbers_and_is_audited(a, factory, login_as):
    response = save(login_as, a)
    assert response.status_code == 302
    card = saved(factory, a)
    assert card is not None
    assert (card.police_phone, card.doctor_phone, card.hotline) == ("13912345678", "0351-6012345", "0351-6543210")
    [entry] = audits(factory, a)
    assert entry.actor_id == a.admin.id
    assert entry.before is None
    assert entry.after == {"grid": "a-g1", "police_name": "王建国", "police_phone": "13912345678",
                           "doctor_name": "李淑芬", "doctor_phone": "0351-6012345", "hotline": "0351-6543210",
                           "note": "每周三上午社区医生坐诊"}
    # a second save records what changed, and a save that changes nothing records nothing
    save(login_as, a, hotline="12345")
    save(login_as, a, hotline="12345")
    entries = sorted(audits(factory, a), key=lambda e: e.id)
    assert len(entries) == 2
    assert entries[1].before == {"grid": "a-g1", "hotline": "0351-6543210"}
    assert entries[1].after == {"grid": "a-g1", "hotline": "12345"}


def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(a, factory, login_as):
    save(login_as, a)
    before = saved(factory, a)
    response = save(login_as, a, police_phone="12345", hotline="热线", note="长" * 201, doctor_name="x\x07")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count('class="field-error"') == 4
    assert 'id="police_phone-error"' in html
    assert "0351-1234567" in html
    # what was typed stays in the form; the preview is still the saved card
    assert 'value="12345"' in html
    assert "0351-6543210" in text_of(html)
    after = saved(factory, a)
    assert after is not None
    assert before is not None
    assert {k: getattr(after, k) for k in card_services.EDITABLE} == {k: getattr(before, k)
                                                                      for k in card_services.EDITABLE}
    assert len(audits(factory, a)) == 1


def form_version(client: Any, tree: Tree) -> str:
    html = client.get(page(tree, f"/{tree.grid.id}")).get_data(as_text=True)
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def test_of_two_people_editing_one_card_the_second_save_is_refused_and_changes_nothing(a, factory, login_as):
    admin, cadre = login_as(a.admin), login_as(a.cadre)
    # both open the card before it was ever saved, then both save
    first, second = form_version(admin, a), form_version(cadre, a)
    assert first == second == "0"
    assert admin.post(page(a, f"/{a.grid.id}"), data={**GOOD, "version": first}).status_code == 302
    refused = cadre.post(page(a, f"/{a.grid.id}"), data={**GOOD, "hotline": "12345", "version": second})
    assert refused.status_code == 409
    assert "刚刚有其他人保存了这张卡片，请刷新后重试。" in text_of(refused.get_data(as_text=True))
    assert saved(factory, a).hotline == "0351-6543210"
    assert len(audits(factory, a)) == 1
    # the page now carries the newer version: saving again is a deliberate overwrite, and goes through
    newer = re.search(r'name="version" value="(\d+)"', refused.get_data(as_text=True)).group(1)
    assert newer != second
    assert cadre.post(page(a, f"/{a.grid.id}"), data={**GOOD, "hotline": "12345", "version": newer}).status_code == 302
    assert saved(factory, a).hotline == "12345"


def test_the_preview_shows_typed_values_and_saves_nothing(a, factory, login_as):
    client = login_as(a.admin)
    response = client.post(page(a, f"/{a.grid.id}/preview"), data={**GOOD, "police_name": "预览民警"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "预览民警" in body
    assert "<html" not in body
    assert 'id="card-preview"' in body
    assert saved(factory, a) is None
    bad = client.post(page(a, f"/{a.grid.id}/preview"), data={"hotline": "x"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422
    assert 'class="field-error"' in bad.get_data(as_text=True)


def test_a_cadre_edits_the_grids_of_their_own_community_only(a, factory, login_as):
    assert save(login_as, a, who=a.cadre).status_code == 302
    assert saved(factory, a) is not None
    client = login_as(a.other_cadre)
    for path in (f"/{a.grid.id}", f"/{a.grid.id}/print", f"/{a.grid.id}/card.pdf", f"/{a.grid.id}/qr.png",
                 f"/community/{a.community.id}/print", f"/community/{a.community.id}/cards.pdf"):
        assert client.get(page(a, path)).status_code == 404, path
    assert client.post(page(a, f"/{a.grid.id}"), data={**GOOD, "police_name": "越界"}).status_code == 404
    assert saved(factory, a).police_name == "王建国"
    # their list shows their own community's grids only
    text = text_of(client.get(page(a)).get_data(as_text=True))
    assert "甲公园网格" in text
    assert "甲一号院网格" not in text


def test_a_grid_worker_may_not_edit_or_print_cards(a, factory, login_as):
    client = login_as(a.worker)
    assert client.get(page(a)).status_code == 403
    assert client.get(page(a, f"/{a.grid.id}")).status_code == 403
    assert client.post(page(a, f"/{a.grid.id}"), data=GOOD).status_code == 403
    assert saved(factory, a) is None
    token = factory.token(a.worker)
    assert client.put(api(a, a.grid.id), json=GOOD, headers=bearer(token)).status_code == 403


def test_a_grid_of_another_district_is_a_404(a, b, factory, login_as):
    client = login_as(a.admin)
    for path in (f"/{b.grid.id}", f"/{b.grid.id}/print", f"/{b.grid.id}/card.pdf", f"/{b.grid.id}/qr.png",
                 f"/community/{b.community.id}/print", f"/community/{b.community.id}/cards.pdf"):
        assert client.get(page(a, path)).status_code == 404, path
    assert client.post(page(a, f"/{b.grid.id}"), data=GOOD).status_code == 404
    token = factory.token(a.admin)
    assert client.get(api(a, b.grid.id), headers=bearer(token)).status_code == 404
    assert client.put(api(a, b.grid.id), json=GOOD, headers=bearer(token)).status_code == 404
    # another district's admin, at home, asking for A's grid; and with their token at A's API
    b_client = login_as(b.admin)
    assert b_client.get(page(b, f"/{a.grid.id}")).status_code == 404
    assert b_client.post(page(b, f"/{a.grid.id}"), data=GOOD).status_code == 404
    assert b_client.put(api(a, a.grid.id), json=GOOD, headers=bearer(factory.token(b.admin))).status_code == 401
    assert saved(factory, a) is None
    assert saved(factory, b, b.grid.id) is None
    # a non-grid unit of one's own district is no card either
    assert login_as(a.admin).get(page(a, f"/{a.community.id}")).status_code == 404


# --- the API -------------------------------------------------------------------------------------------


def test_the_api_reads_and_replaces_a_card(a, factory, client):
    token = factory.token(a.cadre)
    empty = client.get(api(a, a.grid.id), headers=bearer(token))
    assert empty.status_code == 200
    body = empty.get_json()
    assert body["grid"]["code"] == "a-g1"
    assert body["community"]["name"] == "甲晋祠路社区"
    assert body["street"]["name"] == "甲晋祠路街道"
    assert body["updated_at"] is None
    assert body["complete"] is False
    assert [p["name"] for p in body["leaders"]] == ["甲张网格长"]
    assert [(p["name"], p["phone"]) for p in body["workers"]] == [("甲赵网格员", "13812340002"),
                                                                  ("甲钱网格员", "13812340003")]
    assert body["report_url"] == report_url(a)
    put = client.put(api(a, a.grid.id), json=GOOD, headers=bearer(token))
    assert put.status_code == 200
    assert put.get_json()["police_phone"] == "13912345678"
    assert put.get_json()["complete"] is True
    # PUT replaces: what is left out is emptied
    put = client.put(api(a, a.grid.id), json={"hotline": "12345"}, headers=bearer(token))
    assert put.status_code == 200
    card = saved(factory, a)
    assert card is not None
    assert (card.police_name, card.hotline) == ("", "12345")
    # with the version read, a PUT after someone else's save is refused and changes nothing
    version = client.get(api(a, a.grid.id), headers=bearer(token)).get_json()["version"]
    assert version > 0
    assert client.put(api(a, a.grid.id), json={"hotline": "12319", "version": version},
                      headers=bearer(token)).status_code == 200
    stale = client.put(api(a, a.grid.id), json={"hotline": "12345", "version": version}, headers=bearer(token))
    assert stale.status_code == 409
    assert saved(factory, a).hotline == "12319"
    bad = client.put(api(a, a.grid.id), json={"police_phone": "12", "note": 5}, headers=bearer(token))
    assert bad.status_code == 422
    assert bad.get_json()["code"] == "validation_error"
    assert set(bad.get_json()["errors"]) == {"police_phone", "note"}
    assert saved(factory, a).hotline == "12319"


# --- the PDF and the QR code ---------------------------------------------------------------------------


def decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.mark.one_backend
def test_the_pdf_reads_back_with_the_grid_its_people_and_phones(a, login_as):
    save(login_as, a)
    response = login_as(a.admin).get(page(a, f"/{a.grid.id}/card.pdf"))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox  # A6: 105 × 148 mm
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (105, 148)
    text = reader.pages[0].extract_text()
    for expected in ("甲一号院网格", "甲晋祠路社区", "甲张网格长", "13812340001", "甲赵网格员", "13812340002",
                     "王建国", "13912345678", "李淑芬", "0351-6012345", "0351-6543210"):
        assert expected in text, expected


@pytest.mark.one_backend
def test_the_qr_code_on_the_pdf_opens_the_grids_public_report_form(a, login_as):
    client = login_as(a.admin)
    pdf = client.get(page(a, f"/{a.grid.id}/card.pdf")).data
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=300 / 72).to_pil()
    assert decode(image) == [report_url(a)]
    png = client.get(page(a, f"/{a.grid.id}/qr.png"))
    assert png.mimetype == "image/png"
    assert decode(Image.open(io.BytesIO(png.data))) == [report_url(a)]
    # and that address is the public report form of that grid, marked as coming from the QR code
    form = client.application.test_client().get(report_url(a).removeprefix("http://localhost"))
    assert form.status_code == 200
    assert 'value="qr"' in form.get_data(as_text=True)


def test_a_district_with_its_own_host_name_gets_it_on_its_cards(a, app, login_as):
    with app.app_context(), db.platform_context():
        tenant = db.session.get(Tenant, a.tenant.id)
        tenant.hostname = "jinci.wgt.example.cn"
        db.session.commit()
    client = login_as(a.admin)
    png = client.get(page(a, f"/{a.grid.id}/qr.png"))
    expected = report_url(a).replace("http://localhost", "http://jinci.wgt.example.cn")
    assert decode(Image.open(io.BytesIO(png.data))) == [expected]
    html = client.get(page(a, f"/{a.grid.id}")).get_data(as_text=True)
    assert expected in text_of(html)
    assert "flash-error" not in html


@pytest.mark.one_backend
def test_a_community_prints_four_cards_to_an_a4_sheet(a, factory, login_as):
    with factory.as_tenant(a.tenant) as s:
        community = tenant_services.org_unit_by_code(s, "a-c1")
        for i in range(3):
            s.add(tenant_services.new_org_unit(kind="grid", code=f"more-{i}", name=f"甲加{i}网格",
                                               parent_id=community.id, parent_path=community.path))
        s.commit()
    client = login_as(a.admin)
    html = client.get(page(a, f"/community/{a.community.id}/print")).get_data(as_text=True)
    assert html.count('class="sheet"') == 2
    assert html.count('class="contact-card"') == 5
    assert "@page { size: 210mm 297mm" in html
    assert "甲公园网格" not in html
    reader = pypdf.PdfReader(io.BytesIO(client.get(page(a, f"/community/{a.community.id}/cards.pdf")).data))
    assert len(reader.pages) == 2
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (210, 297)
    text = "".join(p.extract_text() for p in reader.pages)
    for name in ("甲一号院网格", "甲二号院网格", "甲加0网格", "甲加1网格", "甲加2网格"):
        assert name in text
    image = pypdfium2.PdfDocument(client.get(page(a, f"/community/{a.community.id}/cards.pdf")).data)[0] \
        .render(scale=300 / 72).to_pil()
    assert sorted(decode(image)) == sorted(report_url(a, code) for code in ("a-g1", "a-g2", "more-0", "more-1"))
