"""Demo data for grid cases, from the source reports (DESIGN.md), driven through the services themselves.

Every district gets the default categories, with the demo departments as their defaults where the district
has them. 万柏林区's 晋祠路社区 gets its 11 cadres' claimed compounds (13 compounds: two cadres look after two,
nine after one) and the story of 晋祠路一号院: unlit unit doors and shading trees reported by several
households, linked as two common problems and fixed as one (10 lights, 18 trees trimmed). Both districts get
cases in each step of the life cycle, reported, moved and rated by the demo's own people, and quick notes.
Running it twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app

from blueprints.grid_cases.models import CaseCategory, CaseCounter, CaseEvent, CompoundClaim, GridCase
from blueprints.grid_cases.services import act, ensure_default_categories, report_case
from blueprints.grid_cases.services.base import Actor, calendar, settings
from blueprints.grid_cases.services.cases import next_number
from blueprints.grid_cases.services.common import link_common, resolve_common
from blueprints.grid_cases.services.notes import add_note
from saas.db import utcnow
from tenants.models import OrgUnit, RoleGrant, Tenant, User

DEFAULT_DEPARTMENTS = {
    "water": "dept-water", "drainage": "dept-water", "power": "dept-housing", "property": "dept-housing",
    "hazard": "dept-housing", "streetlight": "dept-urban", "greenery": "dept-urban", "sanitation": "dept-urban",
    "illegal-building": "dept-urban",
}


def seed(session: so.Session, tenant: Tenant) -> None:
    ensure_default_categories(session, tenant)
    departments = {u.code: u.id for u in session.scalars(sa.select(OrgUnit).where(OrgUnit.kind == "department"))}
    for category in session.scalars(sa.select(CaseCategory).where(CaseCategory.department_id.is_(None))):
        code = DEFAULT_DEPARTMENTS.get(category.code)
        if code in departments:
            category.department_id = departments[code]
    session.flush()
    if session.scalars(sa.select(GridCase.id).limit(1)).first() is not None:
        return
    book = current_app.extensions["saas.roles"]
    people = _People(session, book)
    if people.get("gw1") is None:
        return  # a district without the demo's people (the tests' own districts)
    _claims(session, people)
    _cases(session, tenant, people)
    session.flush()


class _People:
    def __init__(self, session: so.Session, book: Any):
        self.session = session
        self.book = book

    def get(self, username: str) -> User | None:
        return self.session.scalars(sa.select(User).where(User.username == username)).first()

    def actor(self, user: User | None) -> Actor:
        return Actor(user, self.book, frozenset({"grid_cases"}))

    def by_role(self, role: str, unit: OrgUnit) -> User | None:
        return self.session.scalars(sa.select(User).join(RoleGrant, sa.and_(
            RoleGrant.tenant_id == User.tenant_id, RoleGrant.user_id == User.id)).where(
            RoleGrant.role == role, RoleGrant.org_unit_id == unit.id).order_by(User.id)).first()


def _unit(session: so.Session, code: str) -> OrgUnit | None:
    return session.scalars(sa.select(OrgUnit).where(OrgUnit.code == code)).first()


def _claims(session: so.Session, people: _People) -> None:
    """晋祠路社区's 11 cadres each look after one or two of its 13 compounds."""
    jinci = _unit(session, "wbl-jinci")
    if jinci is None or session.scalars(sa.select(CompoundClaim.id).limit(1)).first() is not None:
        return
    cadres = list(session.scalars(sa.select(User).join(RoleGrant, sa.and_(
        RoleGrant.tenant_id == User.tenant_id, RoleGrant.user_id == User.id)).where(
        RoleGrant.role == "community_cadre", RoleGrant.org_unit_id == jinci.id).order_by(User.id)))
    compounds = list(session.scalars(sa.select(OrgUnit).where(
        OrgUnit.kind == "compound", OrgUnit.path.startswith(jinci.path)).order_by(OrgUnit.code)))
    compounds.sort(key=lambda u: int(u.code.rsplit("cp", 1)[-1]))
    i = 0
    for k, cadre in enumerate(cadres):
        for _ in range(2 if k < len(compounds) - len(cadres) else 1):
            if i < len(compounds):
                session.add(CompoundClaim(user_id=cadre.id, compound_id=compounds[i].id))
                i += 1
    session.flush()


def _cases(session: so.Session, tenant: Tenant, people: _People) -> None:
    gw1 = people.get("gw1")
    assert gw1 is not None
    worker = people.actor(gw1)
    grid = next((g.org_unit for g in gw1.grants if g.role == "grid_worker"), None)
    if grid is None:
        return
    admin = people.actor(people.get("admin"))
    place = _unit(session, "wbl-jinci-cp1")
    where = place.code if place is not None else grid.code

    def report(who: Actor, category: str, text: str, **kw: Any) -> GridCase:
        data = {"category_code": category, "location_code": kw.pop("location", where), "description": text,
                "address": kw.pop("address", ""), "urgency": kw.pop("urgency", "normal"), **kw}
        return report_case(session, tenant, who, data, source=kw.get("source", "patrol"))

    def step(who: Actor, case: GridCase, action: str, **data: Any) -> GridCase:
        session.flush()
        return act(session, tenant, who, case.id, action, {"version": case.version, **data})

    # a report of three days ago whose step fell due yesterday, so the lists and the 督办 job have something to
    # show: its number, times and timeline moved back together (reported first, so it lists as the oldest)
    late = report(worker, "hazard", "电动车在楼道充电，存在火灾隐患", address="5号楼")
    session.flush()
    back = dt.timedelta(days=3)
    reported = late.created_at - back
    number = next_number(session, tenant, settings(session)["case_prefix"], reported)
    # today's first number goes back to the counter, so today's cases start at 0001
    session.execute(sa.update(CaseCounter).where(CaseCounter.day == calendar(session, tenant).local_date(
        late.created_at)).values(last=CaseCounter.last - 1))
    session.execute(sa.update(GridCase).where(GridCase.id == late.id).values(
        number=number, created_at=reported, updated_at=reported, deadline_at=utcnow() - dt.timedelta(days=1))
        .execution_options(synchronize_session=False))
    for event in session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == late.id)):
        event.at -= back
    session.expire(late)

    # a grid worker's own find, handled at the grid
    c1 = report(worker, "sanitation", "楼道堆放杂物，影响通行", address="2号楼1单元")
    step(worker, c1, "handle")
    # a resident's call: accepted by the grid, to be handled
    report(worker, "property", "居民来电：小区门禁损坏，外来车辆随意进出", source="phone", reporter_name="王女士",
           reporter_phone=_resident_phone(tenant, 1))
    # a leak escalated grid → community → street, dispatched to the water bureau, taken on
    leak = report(worker, "water", "3号楼地下管道漏水，单元门口积水", urgency="urgent", address="3号楼")
    _climb(session, tenant, people, leak, step)
    # an old report, closed and rated by the resident
    done = report(worker, "streetlight", "小区东门路灯不亮", source="phone", reporter_name="李先生",
                  reporter_phone=_resident_phone(tenant, 2))
    step(worker, done, "handle")
    step(worker, done, "resolve", result="更换灯泡两只，已恢复照明")
    step(worker, done, "verify")
    step(worker, done, "close")
    resident = session.scalars(sa.select(User).where(User.id == done.reporter_user_id)).first()
    if resident is not None:
        step(people.actor(resident), done, "rate", rating="satisfied", comment="修得很快，谢谢")
    if place is not None:
        _jinci_story(session, tenant, people, worker, admin, report)
    for kind, text in (("patrol", "巡查晋祠路一号院，消防通道畅通"), ("visit", "走访独居老人张大爷，身体状况良好"),
                       ("publicity", "张贴防诈骗宣传海报10张"), ("service", "帮助居民办理居住证明")):
        add_note(session, tenant, worker, {"kind": kind, "text": text})


def _climb(session: so.Session, tenant: Tenant, people: _People, case: GridCase, step: Any) -> None:
    """A case escalated level by level to the street, dispatched and taken on by its department."""
    units = {u.kind: u for u in session.scalars(sa.select(OrgUnit).where(
        OrgUnit.id.in_([case.community_id or 0, case.street_id or 0])))}
    cadre = people.by_role("community_cadre", units["community"]) if "community" in units else None
    officer = people.by_role("street_officer", units["street"]) if "street" in units else None
    gw = people.actor(people.session.scalars(sa.select(User).where(User.id == case.reported_by_id)).one())
    if cadre is None or officer is None:
        return
    step(gw, case, "escalate", note="涉及地下管网，网格无法处置")
    step(people.actor(cadre), case, "accept")
    step(people.actor(cadre), case, "escalate", note="需专业维修")
    step(people.actor(officer), case, "accept")
    step(people.actor(officer), case, "dispatch", department_code="dept-water")
    handler = people.get("dept-water-handler")
    if handler is not None:
        step(people.actor(handler), case, "take", note="已安排维修班组")


def _jinci_story(session: so.Session, tenant: Tenant, people: _People, worker: Actor, admin: Actor,
                 report: Any) -> None:
    """晋祠路一号院: unlit unit doors and shading trees, each reported by several households, fixed as one."""
    texts = [("streetlight", "1号楼单元门口没有灯，晚上回家看不清"), ("streetlight", "4号楼单元门灯坏了很久"),
             ("streetlight", "7号楼门口一片漆黑，老人摔过跤"), ("greenery", "楼前大树遮挡阳光，家里白天也要开灯"),
             ("greenery", "树枝伸进阳台，夏天招虫"), ("greenery", "大树遮光，晾晒不干")]
    for i, (category, text) in enumerate(texts):
        report(worker, category, text, source="phone", reporter_name="居民",
               reporter_phone=_resident_phone(tenant, 10 + i))
    cadre = people.get("cadre1")
    if cadre is None:
        return
    who = people.actor(cadre)
    lights = link_common(session, tenant, who, place_code="wbl-jinci-cp1", category_code="streetlight",
                         title="晋祠路一号院单元门照明")
    link_common(session, tenant, who, place_code="wbl-jinci-cp1", category_code="greenery",
                title="晋祠路一号院树木遮光")
    resolve_common(session, tenant, who, lights.id, "28个无灯单元门中已安装10盏感应灯，其余列入下月计划")


def _resident_phone(tenant: Tenant, n: int) -> str:
    return f"158{(tenant.id % 97):02d}{n:06d}"[:11]


__all__ = ["seed"]
