"""Results beyond the tally (ranks per business area, the workbook read back, the chart), follow-up (actions
with documents, rectification items from text, overdue reminders once per deadline, the report read back),
the targets' import through the kernel's contract, and the anomaly flags that name no rater."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from blueprints.cadre_evaluation import anomaly, followup, results, services, targets
from blueprints.cadre_evaluation.models import NetworkCount, RectificationItem
from saas import imports
from saas.notify import Notification
from tests.blueprints.cadre_evaluation.conftest import World, all_levels


def _closed(world: World) -> tuple:
    campaign = world.campaign(targets=0, min_ballots=2)
    with world.session() as s:
        for name, section, area in (("甲", "一科", "纳税"), ("乙", "二科", "纳税"), ("丙", "三科", "开办企业"),
                                    ("丁", "四科", "开办企业")):
            services.add_target(s, world.tenant, world.actor(s), campaign.id,
                                {"name": name, "department": "县局", "section": section, "area": area})
        s.commit()
    world.step(campaign, "open")
    a, b, c, d = world.targets(campaign)
    world.vote(campaign, "13900000001", {a.id: all_levels("fair"), b.id: all_levels("satisfied"),
                                         c.id: all_levels("dissatisfied"), d.id: all_levels("fair")})
    world.vote(campaign, "13900000002", {a.id: all_levels("fair"), b.id: all_levels("satisfied"),
                                         c.id: all_levels("satisfied", law="unknown")})
    world.step(campaign, "close")
    return campaign, a, b, c, d


def test_ranks_per_area_and_the_workbook_and_chart(world_a: World) -> None:
    campaign, a, b, c, d = _closed(world_a)
    with world_a.session() as s:
        rows = results.ranked(s, services.get_campaign(s, campaign.id))
        by_id = {r["target"].id: r for r in rows}
        assert [by_id[t.id]["rank"] for t in (b, a, c)] == [1, 2, 3]
        assert [by_id[t.id]["area_rank"] for t in (b, a, c)] == [1, 2, 1]
        assert by_id[d.id]["scored"] is False
        assert by_id[d.id]["area_rank"] is None
        body = results.export_xlsx(services.get_campaign(s, campaign.id), rows, "Asia/Shanghai")
        chart = results.chart(rows)
    book = load_workbook(io.BytesIO(body))
    sheet = book.worksheets[0]
    lines = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert lines[0][:3] == ["排名", "领域内排名", "姓名"]
    assert [line[2] for line in lines[1:]] == ["乙", "甲", "丙", "丁"]
    assert lines[1][lines[0].index("加权总分")] == 100
    assert lines[2][lines[0].index("加权总分")] == 80
    # 丙: four dimensions average (0 + 100) / 2 = 50, 依法办事 only the 不满意 (不了解 left out): 0
    assert lines[3][lines[0].index("加权总分")] == pytest.approx((50 * 4 + 0) / 5)
    assert lines[4][lines[0].index("加权总分")] is None
    assert "不足" in lines[4][-1]
    assert lines[3][lines[0].index("“不了解”占比")] == pytest.approx(0.1)
    detail = [[cell.value for cell in row] for row in book.worksheets[1].iter_rows()]
    assert len(detail) == 1 + 4  # one row per target and channel with ballots
    assert "乙（二科）" in str(chart.svg)
    assert "100" in str(chart.svg)


def test_live_counts_only_while_open(world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    with world_a.session() as s:
        assert results.live_counts(s, services.get_campaign(s, campaign.id)) is None
    world_a.step(campaign, "open")
    (t,) = world_a.targets(campaign)
    world_a.vote(campaign, "13900000001", {t.id: all_levels("fair")})
    with world_a.session() as s:
        counts = results.live_counts(s, services.get_campaign(s, campaign.id))
        assert counts == {"onsite": 0, "online": 1, "department": 0, "raters": 1}
        with pytest.raises(services.Refused):
            results.results_for(s, None, services.get_campaign(s, campaign.id))


def test_follow_up_actions_items_reminders_and_report(world_a: World) -> None:
    campaign, _a, _b, c, _d = _closed(world_a)
    with world_a.session() as s:
        actor = world_a.actor(s)
        with pytest.raises(services.ServiceError) as err:
            followup.add_action(s, world_a.tenant, actor, c.id, {"kind": "admonish", "taken_on": dt.date(2026, 1, 5)},
                                [("big.pdf", b"x" * (followup.MAX_DOCUMENT_BYTES + 1))])
        assert "document" in err.value.errors
        with pytest.raises(services.ServiceError):
            followup.add_action(s, world_a.tenant, actor, c.id, {"kind": "admonish", "taken_on": dt.date(2026, 1, 5)},
                                [("run.exe", b"MZ")])
        s.rollback()
        action = followup.add_action(s, world_a.tenant, actor, c.id,
                                     {"kind": "admonish", "taken_on": dt.date(2026, 1, 5), "note": "约谈"},
                                     [("谈话记录.pdf", b"%PDF-1.4 record")])
        item = followup.item_from_text(s, world_a.tenant, actor, c.id, "窗口办件超时", "opinion")
        assert item.owner == "县局"
        assert item.state == "open"
        assert item.deadline is None
        listed = followup.add_item(s, world_a.tenant, actor, c.id,
                                   {"source": "enterprise_needs", "text": "供水报装慢", "owner": "三科",
                                    "owner_user_id": world_a.admin.id, "deadline": dt.date(2026, 2, 1)})
        with pytest.raises(services.ServiceError):
            followup.add_item(s, world_a.tenant, actor, c.id, {"source": "gossip", "text": "x"})
        s.commit()
        doc = followup.get_document(s, s.scalars(sa.select(followup.FollowUpDocument.id)).one())
        assert doc.data == b"%PDF-1.4 record"
        assert doc.content_type == "application/pdf"
        assert action.kind == "admonish"
    # overdue: reminded once per deadline, to the owner
    with world_a.session() as s:
        assert followup.remind_overdue(s, world_a.tenant.id, dt.date(2026, 2, 1)) == 0  # due today, not late
        assert followup.remind_overdue(s, world_a.tenant.id, dt.date(2026, 2, 2)) == 1
        assert followup.remind_overdue(s, world_a.tenant.id, dt.date(2026, 2, 3)) == 0
        s.commit()
        notes = list(s.scalars(sa.select(Notification).where(Notification.kind == "cadre_evaluation.item_overdue")))
        assert [n.user_id for n in notes] == [world_a.admin.id]
        assert "丙" in notes[0].title
    with world_a.session() as s:
        followup.update_item(s, world_a.tenant, world_a.actor(s), listed.id, {"state": "done"})
        s.commit()
        with pytest.raises(services.Refused):
            followup.update_item(s, world_a.tenant, world_a.actor(s), listed.id, {"state": "open"})
        s.rollback()
        campaign_row = services.get_campaign(s, campaign.id)
        rows = followup.report(s, campaign_row, dt.date(2026, 2, 3))
        row_c = next(r for r in rows if r["target"].id == c.id)
        assert (row_c["open"], row_c["done"], row_c["overdue"]) == (1, 1, 0)
        body = followup.export_xlsx(campaign_row, rows, "Asia/Shanghai")
    book = load_workbook(io.BytesIO(body))
    summary = [[cell.value for cell in row] for row in book.worksheets[0].iter_rows()]
    assert ["丙", "县局", "三科", "诫勉谈话", 1, 1, 0] in summary
    items = [[cell.value for cell in row] for row in book.worksheets[2].iter_rows()]
    assert sorted(line[2] for line in items[1:]) == ["供水报装慢", "窗口办件超时"]


def test_targets_import_through_the_kernel(world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    csv_bad = "姓名,单位,科室,业务领域\n张三,县局,审批科,纳税\n李四,县局,,纳税\n王五,县局,执法科,养猪\n".encode()
    csv_good = "姓名,单位,科室,职务,业务领域\n张三,县局,审批科,科长,纳税\n李四,县局,执法科,副科长,开办企业\n".encode()
    with world_a.session() as s:
        ctx = targets.TargetsContext(world_a.tenant, world_a.actor(s), filename="t.csv", campaign_id=campaign.id)
        bad = imports.check_file(s, targets.TARGETS, ctx, csv_bad)
        assert not bad.ok
        assert sorted(e.line for e in bad.errors) == [3, 4]
        good = imports.check_file(s, targets.TARGETS, ctx, csv_good)
        assert good.ok
        assert targets.TARGETS.write(s, ctx, good) == {"targets": 2}
        s.commit()
    names = [(t.name, t.post, t.area) for t in world_a.targets(campaign)]
    assert names[1:] == [("张三", "科长", "纳税"), ("李四", "副科长", "开办企业")]
    with world_a.session() as s:  # the same file again: every row already a target
        ctx = targets.TargetsContext(world_a.tenant, world_a.actor(s), filename="t.csv", campaign_id=campaign.id)
        again = imports.check_file(s, targets.TARGETS, ctx, csv_good)
        assert not again.ok
        assert len(again.errors) == 2


def test_anomaly_flags_count_networks_by_hash_and_identical_patterns(world_a: World) -> None:
    campaign = world_a.campaign(targets=2, min_ballots=1)
    world_a.step(campaign, "open")
    a, b = world_a.targets(campaign)
    now = dt.datetime(2026, 3, 1, 9, 3, tzinfo=dt.UTC)
    with world_a.session() as s:
        c = services.get_campaign(s, campaign.id)
        for i in range(20):
            anomaly.record(s, world_a.tenant.id, c, [a.id], f"203.0.113.{i + 1}", now)
        anomaly.record(s, world_a.tenant.id, c, [b.id], "198.51.100.7", now)
        s.commit()
        stored = list(s.scalars(sa.select(NetworkCount)))
        assert sorted(n.count for n in stored) == [1, 20]
        assert all("203.0.113" not in n.network_key and len(n.network_key) == 64 for n in stored)
    for i in range(10):
        world_a.vote(campaign, f"1390000{i:04d}", {b.id: all_levels("satisfied", law="dissatisfied")},
                     batch_size=1)
    world_a.vote(campaign, "13911110000", {b.id: all_levels("satisfied")}, batch_size=1)
    with world_a.session() as s:
        found = anomaly.flags(s, services.get_campaign(s, campaign.id))
    assert [(f["target"].id, f["count"]) for f in found["bursts"]] == [(a.id, 20)]
    assert [(f["target"].id, f["count"], f["ballots"]) for f in found["patterns"]] == [(b.id, 10, 11)]
    assert "依法办事：不满意" in found["patterns"][0]["answers"]
    assert anomaly.network_of("203.0.113.9") == anomaly.network_of("203.0.113.200") == "203.0.113.0/24"


def test_item_from_text_waits_for_the_opening(world_a: World) -> None:
    campaign = world_a.campaign(targets=1)
    (t,) = world_a.targets(campaign)
    with world_a.session() as s, pytest.raises(services.Refused):
        followup.item_from_text(s, world_a.tenant, world_a.actor(s), t.id, "x", "opinion")
    assert world_a.count(RectificationItem) == 0
