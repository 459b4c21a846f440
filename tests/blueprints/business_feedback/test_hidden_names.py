"""A department never reads the name of a supervisor who did not show it: not in the item's page, the list, the
API, the notices sent to it or the timeline. The office and the supervisor always do; with `show_name` the
department does too."""

from __future__ import annotations

import json

import sqlalchemy as sa

from blueprints.business_feedback.services import items
from saas.notify import Notification
from tests.plugin import bearer


def name_of(world, who):  # type: ignore[no-untyped-def]
    return world.users[who].name


def through_every_step(world, show):  # type: ignore[no-untyped-def]
    item = world.submit(show_name=show)
    world.act("office", item, "accept", department_ids=[world.unit_id("d1")])
    world.act("dept", item, "answer", answer="已处理")
    world.act("sup", item, "rate", rating="unsatisfied", note="仍未解决")  # the supervisor's own step, and back
    return item


def surfaces(world, client, login_as, item, who):  # type: ignore[no-untyped-def]
    """Everything the person reads about the item, as text."""
    texts = []
    login_as(world.users[who])
    slug = world.tenant.slug
    page = client.get(f"/t/{slug}/business_feedback/items/{item.id}")
    assert page.status_code == 200
    texts.append(page.get_data(as_text=True))
    texts.append(client.get(f"/t/{slug}/business_feedback/").get_data(as_text=True))
    token = world.factory.token(world.users[who])
    api = f"/api/v1/t/{slug}/business_feedback/items"
    detail = client.get(f"{api}/{item.id}", headers=bearer(token))
    assert detail.status_code == 200
    # JSON escapes Chinese (\\uXXXX): read it back, so a name would show as itself
    texts.append(json.dumps(detail.get_json(), ensure_ascii=False))
    texts.append(json.dumps(client.get(api, headers=bearer(token)).get_json(), ensure_ascii=False))
    with world.session() as s:
        for n in s.scalars(sa.select(Notification).where(Notification.user_id == world.users[who].id)):
            texts.append(n.title + n.body)
        texts.append(repr(items.timeline(s, world.actor(s, who), items.get_item(s, world.actor(s, who), item.id))))
    return texts


def test_a_department_never_reads_a_hidden_name(world_a, client, login_as):
    item = through_every_step(world_a, show=False)
    name = name_of(world_a, "sup")
    for who in ("dept", "section"):
        texts = surfaces(world_a, client, login_as, item, who)
        assert len(texts) >= 6
        for text in texts:
            assert name not in text, who
    # the supervisor's own steps are in the department's timeline, without the name
    with world_a.session() as s:
        lines = items.timeline(s, world_a.actor(s, "dept"), items.get_item(s, world_a.actor(s, "dept"), item.id))
    own = [line for line in lines if line["action"] in ("submit", "return")]
    assert len(own) == 2
    assert all(line["actor"] != name for line in own)


def test_the_office_and_the_supervisor_read_it(world_a, client, login_as):
    item = through_every_step(world_a, show=False)
    name = name_of(world_a, "sup")
    for who in ("office", "sup"):
        texts = surfaces(world_a, client, login_as, item, who)
        assert any(name in t for t in texts[:3]), who


def test_a_shown_name_reaches_the_department(world_a, client, login_as):
    item = through_every_step(world_a, show=True)
    name = name_of(world_a, "sup")
    texts = surfaces(world_a, client, login_as, item, "dept")
    assert name in texts[0]  # the page
    assert name in texts[2]  # the API
    with world_a.session() as s:
        notice = s.scalars(sa.select(Notification).where(Notification.user_id == world_a.users["dept"].id,
                                                         Notification.kind == "business_feedback.assigned")).one()
    assert name in notice.body


def test_the_overdue_notice_keeps_a_hidden_name_even_in_a_districts_own_wording(world_a, monkeypatch):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from blueprints.business_feedback import jobs
    from blueprints.business_feedback.services import base
    from saas.notify import NoticeTemplateOverride

    with world_a.session() as s:  # a district may name any of the notice's fields in its own wording
        s.add(NoticeTemplateOverride(kind="business_feedback.overdue", locale="zh_CN", title="{{ number }} 督办",
                                     body="提交人：{{ supervisor }}"))
        s.commit()
    hidden, shown = world_a.submit(show_name=False), world_a.submit(show_name=True)
    monday = dt.datetime(2024, 11, 4, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    monkeypatch.setattr(items, "utcnow", lambda: monday)
    monkeypatch.setattr(base, "utcnow", lambda: monday)
    for item in (hidden, shown):
        world_a.act("office", item, "accept", department_ids=[world_a.unit_id("d1")], deadline_days=5)
    with world_a.session() as s:
        assert jobs.supervise_overdue(world_a.tenant.id, monday + dt.timedelta(days=8)) == 2  # due 11 November
        s.commit()
        bodies = {n.title.split()[0]: n.body for n in s.scalars(sa.select(Notification).where(
            Notification.kind == "business_feedback.overdue", Notification.user_id == world_a.users["dept"].id))}
    assert bodies == {hidden.number: "提交人：", shown.number: f"提交人：{name_of(world_a, 'sup')}"}
