"""The district's case categories: the taxonomy, each entry with its default department and deadlines."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from blueprints.grid_cases.models import CaseCategory
from blueprints.grid_cases.services.base import MODULE, Refused
from saas import audit
from saas.actors import ServiceError
from tenants.models import OrgUnit, Tenant

# code, name, working days to resolve, working hours when urgent, listed publicly through Open311
DEFAULT_CATEGORIES = [
    ("water", "供水", 3, 4, True), ("power", "供电", 3, 4, True), ("drainage", "排水/下水道", 3, 4, True),
    ("streetlight", "路灯", 5, 8, True), ("greenery", "园林绿化/病虫害", 7, 16, True),
    ("sanitation", "市容环境卫生", 3, 8, True), ("illegal-building", "违章搭建", 10, 16, True),
    ("dispute", "邻里纠纷", 5, 8, False), ("hazard", "安全隐患", 2, 2, True), ("property", "物业管理", 5, 8, True),
    ("other", "其他", 5, 8, True),
]
FIELDS = ("code", "name", "deadline_days", "urgent_hours", "public", "description", "active")


def list_categories(session: so.Session, *, active_only: bool = False) -> list[CaseCategory]:
    q = sa.select(CaseCategory).order_by(CaseCategory.position, CaseCategory.code)
    if active_only:
        q = q.where(CaseCategory.active.is_(True))
    return list(session.scalars(q))


def category_by_code(session: so.Session, code: str) -> CaseCategory | None:
    return session.scalars(sa.select(CaseCategory).where(CaseCategory.code == code)).first()


def category_by_id(session: so.Session, category_id: int) -> CaseCategory | None:
    return session.scalars(sa.select(CaseCategory).where(CaseCategory.id == category_id)).first()


def ensure_default_categories(session: so.Session, tenant: Tenant) -> None:
    """Give a district the default taxonomy once; its admins edit it from there."""
    if session.scalars(sa.select(CaseCategory).limit(1)).first() is not None:
        return
    for pos, (code, name, days, hours, public) in enumerate(DEFAULT_CATEGORIES):
        session.add(CaseCategory(code=code, name=name, deadline_days=days, urgent_hours=hours, public=public,
                                 position=pos))
    session.flush()


def department_by_code(session: so.Session, code: str) -> OrgUnit | None:
    return session.scalars(sa.select(OrgUnit).where(OrgUnit.code == code, OrgUnit.kind == "department")).first()


def _department(session: so.Session, data: dict[str, Any], errors: dict[str, str]) -> tuple[bool, int | None]:
    """(given, department id) from `department_code`; an empty code clears the default."""
    if "department_code" not in data:
        return False, None
    if not data["department_code"]:
        return True, None
    department = department_by_code(session, data["department_code"])
    if department is None:
        errors["department_code"] = _("No department has this code.")
        return True, None
    return True, department.id


def _snapshot(category: CaseCategory) -> dict[str, Any]:
    return {k: getattr(category, k) for k in (*FIELDS, "department_id")}


def add_category(session: so.Session, actor: Any, data: dict[str, Any]) -> CaseCategory:
    errors: dict[str, str] = {}
    _given, department_id = _department(session, data, errors)
    if session.scalars(sa.select(CaseCategory).where(CaseCategory.code == data["code"])).first():
        errors["code"] = _("Code %(code)s is already used.", code=data["code"])
    if session.scalars(sa.select(CaseCategory).where(CaseCategory.name == data["name"])).first():
        errors["name"] = _("A category with this name exists.")
    if errors:
        raise ServiceError(errors)
    position = (session.scalar(sa.select(sa.func.max(CaseCategory.position))) or 0) + 1
    category = CaseCategory(code=data["code"], name=data["name"], deadline_days=data.get("deadline_days", 5),
                            urgent_hours=data.get("urgent_hours", 8), public=data.get("public", True),
                            description=data.get("description", ""), department_id=department_id,
                            position=position)
    session.add(category)
    session.flush()
    audit.record(session, actor, "grid_cases.category.create", "grid_cases_category", category.id,
                 after={k: v for k, v in _snapshot(category).items() if v is not None}, module=MODULE)
    return category


def update_category(session: so.Session, actor: Any, category_id: int, data: dict[str, Any]) -> CaseCategory:
    """Change a category's name, default department, deadlines, visibility or whether it is offered at all.

    Its code stays: Open311 clients and imported files refer to it. Cases already reported keep the
    deadlines they were given.
    """
    category = category_by_id(session, category_id)
    if category is None:
        raise Refused(_("No such category."), 404)
    errors: dict[str, str] = {}
    given, department_id = _department(session, data, errors)
    if "name" in data and data["name"] != category.name and session.scalars(
            sa.select(CaseCategory.id).where(CaseCategory.name == data["name"])).first():
        errors["name"] = _("A category with this name exists.")
    if errors:
        raise ServiceError(errors)
    before = _snapshot(category)
    for key in ("name", "deadline_days", "urgent_hours", "public", "description", "active"):
        if key in data:
            setattr(category, key, data[key])
    if given:
        category.department_id = department_id
    after = _snapshot(category)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        audit.record(session, actor, "grid_cases.category.update", "grid_cases_category", category.id,
                     before={k: before[k] for k in changed}, after={k: after[k] for k in changed}, module=MODULE)
    session.flush()
    return category


def categories_out(session: so.Session, categories: list[CaseCategory]) -> list[dict[str, Any]]:
    """Categories as the API and the pages show them; their departments' codes come in one query, not one each."""
    dept_ids = {c.department_id for c in categories if c.department_id is not None}
    depts: dict[int, tuple[str, str]] = {}
    if dept_ids:
        depts = {uid: (code, name) for uid, code, name in session.execute(
            sa.select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.id.in_(dept_ids)))}
    out = []
    for c in categories:
        code, name = depts.get(c.department_id, (None, None)) if c.department_id is not None else (None, None)
        out.append({"id": str(c.id), "code": c.code, "name": c.name, "department_code": code,
                    "department_name": name, "deadline_days": c.deadline_days, "urgent_hours": c.urgent_hours,
                    "public": c.public, "description": c.description, "active": c.active})
    return out


def category_out(session: so.Session, category: CaseCategory) -> dict[str, Any]:
    return categories_out(session, [category])[0]
