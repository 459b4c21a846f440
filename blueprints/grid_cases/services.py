"""Grid cases' business rules. Every function takes the session (bound to the tenant) and the actor."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_babel import gettext as _

from blueprints.grid_cases.models import CaseCategory
from saas import audit
from tenants.models import OrgUnit, Tenant
from tenants.services import ServiceError

DEFAULT_CATEGORIES = [
    ("water", "供水", 3), ("power", "供电", 3), ("drainage", "排水/下水道", 3), ("streetlight", "路灯", 5),
    ("greenery", "园林绿化/病虫害", 7), ("sanitation", "市容环境卫生", 3), ("illegal-building", "违章搭建", 10),
    ("dispute", "邻里纠纷", 5), ("hazard", "安全隐患", 2), ("property", "物业管理", 5), ("other", "其他", 5),
]


def list_categories(session: so.Session) -> list[CaseCategory]:
    return list(session.scalars(sa.select(CaseCategory).order_by(CaseCategory.position, CaseCategory.code)))


def ensure_default_categories(session: so.Session, tenant: Tenant) -> None:
    """Give a district the default taxonomy once; its admins edit it from there."""
    if session.scalars(sa.select(CaseCategory).limit(1)).first() is not None:
        return
    for pos, (code, name, days) in enumerate(DEFAULT_CATEGORIES):
        session.add(CaseCategory(code=code, name=name, deadline_days=days, position=pos))
    session.flush()


def department_by_code(session: so.Session, code: str) -> OrgUnit | None:
    return session.scalars(sa.select(OrgUnit).where(OrgUnit.code == code, OrgUnit.kind == "department")).first()


def add_category(session: so.Session, actor: Any, data: dict[str, Any]) -> CaseCategory:
    errors: dict[str, str] = {}
    department = None
    if data.get("department_code"):
        department = department_by_code(session, data["department_code"])
        if department is None:
            errors["department_code"] = _("No department has this code.")
    if session.scalars(sa.select(CaseCategory).where(CaseCategory.code == data["code"])).first():
        errors["code"] = _("Code %(code)s is already used.", code=data["code"])
    if session.scalars(sa.select(CaseCategory).where(CaseCategory.name == data["name"])).first():
        errors["name"] = _("A category with this name exists.")
    if errors:
        raise ServiceError(errors)
    position = (session.scalar(sa.select(sa.func.max(CaseCategory.position))) or 0) + 1
    category = CaseCategory(code=data["code"], name=data["name"], deadline_days=data["deadline_days"],
                            department_id=department.id if department else None, position=position)
    session.add(category)
    session.flush()
    audit.record(session, actor, "grid_cases.category.create", "grid_cases_category", category.id,
                 after={"code": category.code, "name": category.name, "deadline_days": category.deadline_days},
                 module="grid_cases")
    return category


def categories_out(session: so.Session, categories: list[CaseCategory]) -> list[dict[str, Any]]:
    """Categories as the API and the pages show them; their departments' codes come in one query, not one each."""
    dept_ids = {c.department_id for c in categories if c.department_id is not None}
    codes: dict[int, str] = {}
    if dept_ids:
        codes = {uid: code for uid, code in session.execute(
            sa.select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(dept_ids)))}
    return [{"id": str(c.id), "code": c.code, "name": c.name,
             "department_code": codes.get(c.department_id) if c.department_id is not None else None,
             "deadline_days": c.deadline_days, "active": c.active} for c in categories]


def category_out(session: so.Session, category: CaseCategory) -> dict[str, Any]:
    return categories_out(session, [category])[0]
