"""Demo residents in the first grids of each demo district: 公园路社区's old soldier recovering from stomach
surgery, a couple visited every few days, a resident living alone whose visit is overdue, and 漪汾苑社区's
eighty-year-old who fell, called his grid worker, who called 120 and told his family. Running it twice changes
nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from stdnum.cn import ric

from blueprints.elderly_visits import services
from blueprints.elderly_visits.models import ElderlyPerson
from saas.actors import Actor
from saas.modules import enabled_keys
from tenants.models import OrgUnit, RoleGrant, Tenant, User


def resident_id(region: str, birth: dt.date, seq: int) -> str:
    """A resident ID number with a valid check digit (odd sequence for men, even for women)."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def _worker_of(session: so.Session, grid: OrgUnit) -> User | None:
    return session.scalars(sa.select(User).join(RoleGrant, sa.and_(RoleGrant.tenant_id == User.tenant_id,
                                                                   RoleGrant.user_id == User.id))
                           .where(RoleGrant.org_unit_id == grid.id, RoleGrant.role == "grid_worker")
                           .order_by(User.id)).first()


def seed(session: so.Session, tenant: Tenant) -> None:
    if session.scalars(sa.select(ElderlyPerson.id).limit(1)).first() is not None:
        return
    book = current_app.extensions["saas.roles"]
    enabled = frozenset(enabled_keys(session))
    admin = session.scalars(sa.select(User).where(User.username == "admin")).first()
    grids = list(session.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "grid").order_by(OrgUnit.code)))
    if admin is None or not grids:
        return
    by_admin = Actor(admin, book, enabled)
    pick = {g.code: g for g in grids}
    # the demo's grid worker gw1 finds residents in their own grid
    gw1_grid = session.scalars(sa.select(RoleGrant.org_unit_id).join(User, sa.and_(
        User.tenant_id == RoleGrant.tenant_id, User.id == RoleGrant.user_id)).where(
        User.username == "gw1", RoleGrant.role == "grid_worker")).first()
    first = next((g for g in grids if g.id == gw1_grid), grids[0])
    gongyuan = pick.get("wbl-gongyuan-g1", first)
    yifen = pick.get("wbl-yifen-g1", first)
    today = services.today_in(tenant)
    people: list[tuple[OrgUnit, dict[str, Any]]] = [
        (first, {"name": "王秀兰", "sex": "f", "birth_date": dt.date(1944, 3, 12), "categories": ["alone"],
                 "living": "独居，女儿在外地", "conditions": "高血压", "care_notes": "耳背，敲门要重一些"}),
        (first, {"name": "刘德胜", "sex": "m", "birth_date": dt.date(1950, 8, 2), "categories": ["empty_nest"],
                 "living": "与老伴同住", "conditions": "", "care_notes": "每隔几天上门看看老两口"}),
        (first, {"name": "赵桂芳", "sex": "f", "birth_date": dt.date(1952, 1, 20), "categories": ["empty_nest"],
                 "living": "与老伴同住", "conditions": "糖尿病", "care_notes": ""}),
        (gongyuan, {"name": "陈建国", "sex": "m", "birth_date": dt.date(1947, 5, 1), "categories": ["post_surgery"],
                    "living": "与老伴同住", "conditions": "胃部手术后康复中",
                    "care_notes": "老兵，爱聊部队的事，上门唠嗑"}),
        (yifen, {"name": "孙长海", "sex": "m", "birth_date": dt.date(1945, 11, 9), "categories": ["alone"],
                 "living": "独居", "conditions": "骨质疏松", "care_notes": "曾在家中跌倒"}),
    ]
    made = []
    for seq, (grid, data) in enumerate(people, start=1):
        worker = _worker_of(session, grid)
        if worker is None:
            continue
        number = resident_id("140109", data["birth_date"], seq * 2 - (data["sex"] == "m"))
        person = services.register_person(session, tenant, by_admin, {
            **data, "id_number": number, "phone": None, "grid_code": grid.code, "place_code": "", "room": "",
            "address": "", "worker_id": worker.id, "backup_worker_id": None, "frequency_days": None,
            "consent": True, "consent_note": "本人同意", "contacts": [
                {"name": data["name"][0] + "家属", "relation": "子女", "phone": f"1370000{seq:04d}"}]})
        made.append((person, worker))
    # 刘德胜 and 赵桂芳 are visited every few days; 王秀兰's visit is overdue; the others are due today
    for person, _worker in made:
        person.next_visit_on = today
    if made:
        made[0][0].next_visit_on = today - dt.timedelta(days=5)
    session.flush()
    for person, worker in made[1:3]:
        services.log_visit(session, tenant, Actor(worker, book, enabled), person.id, {
            "kind": "home", "health": "good", "mood": "good", "needs": [], "risks": [], "notes": "聊了家常，一切安好",
            "visited_at": None, "duration_min": 20, "client_key": f"demo-{person.id}"})
        person.frequency_days = 3
    fallen = next((p for p, _w in made if p.name == "孙长海"), None)
    if fallen is not None:
        worker = next(w for p, w in made if p is fallen)
        who = Actor(worker, book, enabled)
        emergency = services.raise_emergency(session, tenant, who, fallen.id,
                                             {"kind": "fall", "description": "老人在家跌倒，打电话给网格员"})
        for kind, note in (("arrived", "赶到家中"), ("called_120", ""), ("accompanied", "陪同到医院"),
                           ("family_told", "已通知儿子")):
            services.add_action(session, who, emergency.id, {"kind": kind, "note": note, "version": None})
        services.close_emergency(session, who, emergency.id, {"version": emergency.version,
                                                              "outcome": "轻微骨裂，已住院观察，家属陪护"})
    session.flush()
