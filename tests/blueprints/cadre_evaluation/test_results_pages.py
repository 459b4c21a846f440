"""The results and follow-up doors: the organiser's pages (results with ranks per area, chart and workbook;
follow-up with documents and items; the targets' import and photos), the public target list and results pages,
the JSON API, bad input answered in Chinese with nothing stored, and statement counts that do not grow with the
number of targets."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from PIL import Image

from blueprints.cadre_evaluation import services
from blueprints.cadre_evaluation.models import FollowUpAction, FollowUpDocument, RectificationItem
from saas.actors import Actor
from saas.audit import AuditEntry
from saas.db import statements
from tenants.models import User
from tests.blueprints.cadre_evaluation.conftest import World, all_levels
from tests.plugin import bearer, text_of

BASE = "/t/alpha/cadre_evaluation"


def _closed(world: World, targets: int = 3) -> Any:
    campaign = world.campaign(targets=0, min_ballots=1)
    with world.session() as s:
        for i in range(targets):
            services.add_target(s, world.tenant, world.actor(s), campaign.id,
                                {"name": f"科长{i}", "department": "县局", "section": f"{i}科",
                                 "area": ("纳税", "开办企业")[i % 2]})
        s.commit()
    world.step(campaign, "open")
    ts = world.targets(campaign)
    world.vote(campaign, "13900000001", {t.id: all_levels("satisfied" if i % 3 else "fair") for i, t in enumerate(ts)})
    world.step(campaign, "close")
    return campaign, ts


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 50), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_results_page_workbook_and_public_results(client, login_as, world_a: World) -> None:
    campaign, ts = _closed(world_a)
    browser = login_as(world_a.admin)
    page = browser.get(f"{BASE}/campaigns/{campaign.id}/results")
    assert page.status_code == 200
    text = text_of(page.get_data(as_text=True))
    assert "按业务领域排名" in text
    assert "纳税" in text
    assert "开办企业" in text
    assert "cadre-totals" in page.get_data(as_text=True)  # the kernel's chart
    assert "目前没有异常" in text
    book = browser.get(f"{BASE}/campaigns/{campaign.id}/results.xlsx")
    assert book.status_code == 200
    rows = list(load_workbook(io.BytesIO(book.data)).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 1 + len(ts)
    assert {r[2] for r in rows[1:]} == {t.name for t in ts}
    anonymous = client.application.test_client()
    before = text_of(anonymous.get(f"{BASE}/c/{campaign.id}/results").get_data(as_text=True))
    assert "评议结束并由组织方公布后才显示结果" in before
    assert "加权总分" not in before
    world_a.step(campaign, "publish")
    after = anonymous.get(f"{BASE}/c/{campaign.id}/results")
    assert after.status_code == 200
    assert "加权总分" in text_of(after.get_data(as_text=True))
    assert anonymous.get(f"{BASE}/campaigns/{campaign.id}/results.xlsx").status_code in (302, 401, 403)


def test_public_target_list_with_photos(client, login_as, world_a: World) -> None:
    campaign = world_a.campaign(targets=2)
    (first, _second) = world_a.targets(campaign)
    anonymous = client.application.test_client()
    assert anonymous.get(f"{BASE}/c/{campaign.id}/targets").status_code == 404  # draft: not public yet
    browser = login_as(world_a.admin)
    bad = browser.post(f"{BASE}/targets/{first.id}/photo", data={"photo": (io.BytesIO(b"not a picture"), "x.png")},
                       content_type="multipart/form-data")
    assert bad.status_code == 303
    assert browser.post(f"{BASE}/targets/{first.id}/photo", data={"photo": (io.BytesIO(_png()), "p.png")},
                        content_type="multipart/form-data").status_code == 302
    world_a.step(campaign, "announce")
    anonymous = client.application.test_client()
    listing = anonymous.get(f"{BASE}/c/{campaign.id}/targets")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "评议对象公示" in text_of(html)
    assert html.count("/photo?size=thumb") == 1
    photo = anonymous.get(f"{BASE}/c/{campaign.id}/targets/{first.id}/photo?size=thumb")
    assert photo.status_code == 200
    assert Image.open(io.BytesIO(photo.data)).format == "JPEG"
    assert anonymous.get(f"{BASE}/c/{campaign.id}/targets/{_second.id}/photo").status_code == 404


def test_follow_up_on_the_page(login_as, world_a: World) -> None:
    campaign, ts = _closed(world_a)
    browser = login_as(world_a.admin)
    target = ts[0]
    # the body built here: the test client would spool a large one to a file it never closes
    body = b"".join([b"--B\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nnotice\r\n",
                     b"--B\r\nContent-Disposition: form-data; name=\"taken_on\"\r\n\r\n2026-01-05\r\n",
                     b"--B\r\nContent-Disposition: form-data; name=\"document\"; filename=\"big.pdf\"\r\n"
                     b"Content-Type: application/pdf\r\n\r\n", b"x" * (5 * 1024 * 1024 + 1), b"\r\n--B--\r\n"])
    too_big = browser.post(f"{BASE}/targets/{target.id}/actions", data=body,
                           content_type="multipart/form-data; boundary=B")
    assert too_big.status_code == 422
    assert "每个文件最大 5 MB" in text_of(too_big.get_data(as_text=True))
    no_date = browser.post(f"{BASE}/targets/{target.id}/actions", data={"kind": "notice", "taken_on": "5.1."})
    assert no_date.status_code == 422
    assert "请填写处理日期" in text_of(no_date.get_data(as_text=True))
    assert world_a.count(FollowUpAction) == 0
    done = browser.post(f"{BASE}/targets/{target.id}/actions",
                        data={"kind": "notice", "taken_on": "2026-01-05", "note": "全县通报",
                              "document": (io.BytesIO(b"%PDF-1.4 notice"), "通报.pdf")},
                        content_type="multipart/form-data")
    assert done.status_code == 302
    with world_a.session() as s:
        doc_id = s.scalars(sa.select(FollowUpDocument.id)).one()
    got = browser.get(f"{BASE}/documents/{doc_id}")
    assert got.status_code == 200
    assert got.data == b"%PDF-1.4 notice"
    assert "attachment" in got.headers["Content-Disposition"]
    assert browser.post(f"{BASE}/targets/{target.id}/items", data={"source": "petitions", "text": "",
                                                                   "owner": "x"}).status_code == 422
    assert browser.post(f"{BASE}/targets/{target.id}/items",
                        data={"source": "petitions", "text": "信访件办理超期", "owner": "办公室",
                              "deadline": "2026-02-01"}).status_code == 302
    with world_a.session() as s:
        item = s.scalars(sa.select(RectificationItem)).one()
    assert browser.post(f"{BASE}/items/{item.id}/done").status_code == 302
    page = text_of(browser.get(f"{BASE}/campaigns/{campaign.id}/followup").get_data(as_text=True))
    assert "全县通报" in page
    assert "信访件办理超期" in page
    assert "已完成 1 项" in page
    book = browser.get(f"{BASE}/campaigns/{campaign.id}/followup.xlsx")
    sheets = load_workbook(io.BytesIO(book.data)).worksheets
    assert [r[2] for r in sheets[2].iter_rows(values_only=True)][1:] == ["信访件办理超期"]


def test_targets_import_on_the_page(login_as, world_a: World) -> None:
    campaign = world_a.campaign(targets=0)
    browser = login_as(world_a.admin)
    bad = browser.post(f"{BASE}/campaigns/{campaign.id}/import",
                       data={"file": (io.BytesIO("姓名,单位,科室\n张三,县局,\n".encode()), "t.csv")},
                       content_type="multipart/form-data")
    assert bad.status_code == 422
    assert "第 2 行" in text_of(bad.get_data(as_text=True))
    csv = "姓名,单位,科室,业务领域\n张三,县局,审批科,纳税\n".encode()
    good = browser.post(f"{BASE}/campaigns/{campaign.id}/import", data={"file": (io.BytesIO(csv), "t.csv")},
                        content_type="multipart/form-data")
    assert good.status_code == 200
    token = good.get_data(as_text=True).split('name="token" value="')[1].split('"')[0]
    assert world_a.targets(campaign) == []
    assert browser.post(f"{BASE}/campaigns/{campaign.id}/import/confirm", data={"token": token}).status_code == 302
    assert [(t.name, t.area) for t in world_a.targets(campaign)] == [("张三", "纳税")]
    again = browser.post(f"{BASE}/campaigns/{campaign.id}/import/confirm", data={"token": token})
    assert again.status_code == 422


def test_follow_up_api(client, world_a: World) -> None:
    campaign, ts = _closed(world_a)
    token = world_a.factory.token(world_a.admin)
    api = "/api/v1/t/alpha/cadre_evaluation"
    made = client.post(f"{api}/targets/{ts[1].id}/actions", json={"kind": "praise", "taken_on": "2026-01-10"},
                       headers=bearer(token))
    assert made.status_code == 201
    assert made.json["kind"] == "praise"
    bad = client.post(f"{api}/targets/{ts[1].id}/items", json={"source": "rumour", "text": "x"},
                      headers=bearer(token))
    assert bad.status_code == 422
    item = client.post(f"{api}/targets/{ts[1].id}/items",
                       json={"source": "department_tasks", "text": "简化审批材料", "deadline": "2026-03-01"},
                       headers=bearer(token))
    assert item.status_code == 201
    assert item.json["owner"] == "县局"
    patched = client.patch(f"{api}/items/{item.json['id']}", json={"state": "done"}, headers=bearer(token))
    assert patched.status_code == 200
    assert patched.json["state"] == "done"
    reopened = client.patch(f"{api}/items/{item.json['id']}", json={"state": "open"}, headers=bearer(token))
    assert reopened.status_code == 409
    report = client.get(f"{api}/campaigns/{campaign.id}/followup", headers=bearer(token)).json["items"]
    row = next(r for r in report if int(r["target"]["id"]) == ts[1].id)
    assert [a["kind"] for a in row["actions"]] == ["praise"]
    assert row["done"] == 1
    results = client.get(f"{api}/campaigns/{campaign.id}/results", headers=bearer(token)).json["items"]
    assert {r["area_rank"] for r in results} == {1, 2}
    flags = client.get(f"{api}/campaigns/{campaign.id}/flags", headers=bearer(token))
    assert flags.json == {"bursts": [], "patterns": []}


def test_an_actions_documents_through_the_api(client, world_a: World, world_b: World) -> None:
    """Documents follow an action on the API as on the page: all or nothing, refused in Chinese when empty, of a
    kind not accepted or too many; read back as an attachment; another district's action is not found."""
    campaign, ts = _closed(world_a)
    token = world_a.factory.token(world_a.admin)
    api = "/api/v1/t/alpha/cadre_evaluation"
    action = client.post(f"{api}/targets/{ts[0].id}/actions", json={"kind": "notice", "taken_on": "2026-01-10"},
                         headers=bearer(token)).json
    url = f"{api}/actions/{action['id']}/documents"

    def send(*files: tuple[bytes, str], to: str = url, auth: str = token) -> Any:
        return client.post(to, data={"document": [(io.BytesIO(body), name) for body, name in files]},
                           content_type="multipart/form-data", headers=bearer(auth))

    for files, message in ((((b"MZ\x90", "tool.exe"),), "只接受 PDF"),
                           (((b"%PDF ok", "a.pdf"), (b"", "empty.pdf")), "文件为空"),
                           (tuple((b"%PDF", f"{i}.pdf") for i in range(6)), "每次最多发送五份文件")):
        refused = send(*files)
        assert refused.status_code == 422, refused.json
        assert message in str(refused.json)
    assert world_a.count(FollowUpDocument) == 0

    made = send((b"%PDF-1.4 talk", "诫勉谈话记录.pdf"), (b"name,done\n", "清单.txt"))
    assert made.status_code == 201
    assert [d["filename"] for d in made.json] == ["诫勉谈话记录.pdf", "清单.txt"]
    got = client.get(f"{api}/documents/{made.json[0]['id']}", headers=bearer(token))
    assert got.status_code == 200
    assert got.data == b"%PDF-1.4 talk"
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    report = client.get(f"{api}/campaigns/{campaign.id}/followup", headers=bearer(token)).json["items"]
    row = next(r for r in report if int(r["target"]["id"]) == ts[0].id)
    assert [d["filename"] for d in row["actions"][0]["documents"]] == ["诫勉谈话记录.pdf", "清单.txt"]
    with world_a.session() as s:
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "cadre_evaluation.add_documents")).one()
        assert entry.after["documents"] == ["诫勉谈话记录.pdf", "清单.txt"]

    other = world_b.factory.token(world_b.admin)
    assert send((b"%PDF", "x.pdf"), to=f"/api/v1/t/beta/cadre_evaluation/actions/{action['id']}/documents",
                auth=other).status_code == 404
    assert client.get(f"/api/v1/t/beta/cadre_evaluation/documents/{made.json[0]['id']}",
                      headers=bearer(other)).status_code == 404
    assert world_a.count(FollowUpDocument) == 2


def _counts(client: Any, urls: list[str], headers: dict[str, str] | None = None) -> list[int]:
    out = []
    for url in urls:
        assert client.get(url, headers=headers).status_code == 200, url
        with statements() as seen:
            assert client.get(url, headers=headers).status_code == 200, url
        out.append(len(seen))
    return out


def test_statement_counts_do_not_grow_with_targets(app, client, login_as, world_a: World) -> None:
    small, small_ts = _closed(world_a, targets=3)
    large, large_ts = _closed(world_a, targets=30)
    for c, ts in ((small, small_ts), (large, large_ts)):
        with world_a.session() as s:
            for t in ts:
                followup_add(s, world_a, t.id)
            s.commit()
        world_a.step(c, "publish")
    token = world_a.factory.token(world_a.admin)

    def urls(c: Any) -> tuple[list[str], list[str], list[str]]:
        return ([f"{BASE}/campaigns/{c.id}/results", f"{BASE}/campaigns/{c.id}/followup"],
                [f"{BASE}/c/{c.id}/targets", f"{BASE}/c/{c.id}/results"],
                [f"/api/v1/t/alpha/cadre_evaluation/campaigns/{c.id}/followup",
                 f"/api/v1/t/alpha/cadre_evaluation/campaigns/{c.id}/results"])

    browser = login_as(world_a.admin)
    s_pages, s_public, s_api = urls(small)
    l_pages, l_public, l_api = urls(large)
    assert _counts(browser, s_pages) == _counts(browser, l_pages)
    anonymous = app.test_client()
    assert _counts(anonymous, s_public) == _counts(anonymous, l_public)
    api = app.test_client()
    assert _counts(api, s_api, bearer(token)) == _counts(api, l_api, bearer(token))


def followup_add(s: Any, world: World, target_id: int) -> None:
    from blueprints.cadre_evaluation import followup

    followup.add_action(s, world.tenant, world.actor(s), target_id,
                        {"kind": "praise", "taken_on": __import__("datetime").date(2026, 1, 2)},
                        [("a.txt", b"note")])
    followup.add_item(s, world.tenant, world.actor(s), target_id, {"source": "opinion", "text": "改进"})


def test_closed_results_are_the_organisers_alone_until_published(world_a: World) -> None:
    campaign, _ts = _closed(world_a)
    nobody = world_a.factory.user(world_a.tenant, None, name="路人", username="alpha-nobody")
    with world_a.session() as s:
        c = services.get_campaign(s, campaign.id)
        plain = Actor(s.scalars(sa.select(User).where(User.id == nobody.id)).one(),
                      world_a.app.extensions["saas.roles"], frozenset({"cadre_evaluation"}))
        for asker in (None, plain):
            with pytest.raises(services.Refused) as err:
                services.results_for(s, asker, c)
            assert err.value.status == 403
        assert len(services.results_for(s, world_a.actor(s), c)) == 3  # the organiser's, before the publication
    world_a.step(campaign, "publish")
    with world_a.session() as s:
        assert len(services.results_for(s, None, services.get_campaign(s, campaign.id))) == 3
