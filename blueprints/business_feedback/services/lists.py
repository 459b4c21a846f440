"""The district's lists: kinds of supervisor and business areas, installed once when the module is first
switched on (`ensure_defaults`, the manifest's `provision`) and the district's own from then on."""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from blueprints.business_feedback.models import BusinessArea, SupervisorKind
from saas.ids import new_id
from tenants.models import Tenant

# (code, name): the kinds the source practice names (新密市's 三员, 惠济区's 特邀监督员 and 体验官)
DEFAULT_KINDS = (
    ("special", "特约监督员"),
    ("invited", "特邀监督员"),
    ("market", "市场体验员"),
    ("experience", "体验官"),
    ("smart", "智慧监督员"),
)
# the 15 business areas of the evaluation of the business environment
DEFAULT_AREAS = (
    ("start", "开办企业"),
    ("construction", "办理建筑许可"),
    ("electricity", "获得电力"),
    ("water_gas", "获得用水用气"),
    ("property", "登记财产"),
    ("credit", "获得信贷"),
    ("investors", "保护中小投资者"),
    ("taxes", "纳税"),
    ("trade", "跨境贸易"),
    ("contracts", "执行合同"),
    ("insolvency", "办理破产"),
    ("procurement", "政府采购"),
    ("bidding", "招标投标"),
    ("services", "政务服务"),
    ("market", "市场监管"),
)


def ensure_defaults(session: so.Session, tenant: Tenant) -> int:
    """Add the default kinds and areas the district does not have (by code, or by name): never changes or
    brings back one the district renamed, switched off or replaced. Returns how many were added."""
    added = 0
    for model, defaults in ((SupervisorKind, DEFAULT_KINDS), (BusinessArea, DEFAULT_AREAS)):
        rows = session.execute(sa.select(model.code, model.name)).all()
        codes = {r.code for r in rows}
        names = {r.name for r in rows}
        for position, (code, name) in enumerate(defaults):
            if code in codes or name in names:
                continue
            session.add(model(id=new_id(), tenant_id=tenant.id, code=code, name=name, position=position))
            added += 1
    session.flush()
    return added


def list_kinds(session: so.Session, *, active_only: bool = False) -> list[SupervisorKind]:
    q = sa.select(SupervisorKind).order_by(SupervisorKind.position, SupervisorKind.name)
    if active_only:
        q = q.where(SupervisorKind.active.is_(True))
    return list(session.scalars(q))


def list_areas(session: so.Session, *, active_only: bool = False) -> list[BusinessArea]:
    q = sa.select(BusinessArea).order_by(BusinessArea.position, BusinessArea.name)
    if active_only:
        q = q.where(BusinessArea.active.is_(True))
    return list(session.scalars(q))


def kind_by_code(session: so.Session, code: str) -> SupervisorKind | None:
    return session.scalars(sa.select(SupervisorKind).where(SupervisorKind.code == code)).first()


def area_by_code(session: so.Session, code: str) -> BusinessArea | None:
    return session.scalars(sa.select(BusinessArea).where(BusinessArea.code == code)).first()
